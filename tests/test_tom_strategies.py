"""The intervention functions: which items each strategy explains under a budget, and with
which text (agents.eval.strategies)."""

from __future__ import annotations

import pytest

from agents.eval.strategies import GENERIC, STRATEGIES, Signal, explained, ranking
from protocols import UserError


def signal(
    u_hat: float,
    utility: float,
    confidence: float | None,
    teacher: float,
    tiebreak: float,
    misleading_u: float = 0.0,
    generic_u: float = 0.0,
) -> Signal:
    return Signal(
        text="T",
        u_hat=u_hat,
        utility=utility,
        confidence=confidence,
        teacher_confidence=teacher,
        tiebreak=tiebreak,
        misaligned_text="M",
        misaligned_u_hat=misleading_u,
        generic_text="G",
        generic_u_hat=generic_u,
    )


SIGNALS = {
    "a": signal(0.40, 0.10, 0.9, 0.2, 0.7, misleading_u=-0.1, generic_u=0.05),
    "b": signal(0.10, 0.50, 0.2, 0.9, 0.1, misleading_u=-0.6, generic_u=0.30),
    "c": signal(0.25, 0.30, 0.5, 0.5, 0.4, misleading_u=-0.3, generic_u=0.20),
    "d": signal(0.25, 0.00, 0.1, 0.4, 0.9, misleading_u=-0.2, generic_u=0.10),
}


def test_each_strategy_ranks_by_its_own_signal() -> None:
    ranks = {s: ranking(s, SIGNALS) for s in (*STRATEGIES, GENERIC)}
    assert ranks == {
        "none": [],
        "random": ["b", "c", "a", "d"],  # by the seeded tiebreak
        "oracle": ["b", "c", "a", "d"],  # true utility, largest first
        "least_confidence": ["d", "b", "c", "a"],  # the student's confidence, lowest first
        "teacher_confidence": ["b", "c", "d", "a"],
        "expected_utility": ["a", "c", "d", "b"],  # c and d tie on Û: c's tiebreak is lower
        "misaligned": ["b", "c", "d", "a"],  # the lowest (most harmful) Û of the misleading text
        GENERIC: ["b", "c", "d", "a"],
    }


def test_a_budget_explains_the_first_floor_b_n_items_with_the_strategy_s_text() -> None:
    assert explained("expected_utility", SIGNALS, 0.0) == {}
    assert explained("expected_utility", SIGNALS, 0.6) == {"a": "T", "c": "T"}  # ⌊2.4⌋
    assert explained("expected_utility", SIGNALS, 0.75) == {"a": "T", "c": "T", "d": "T"}
    assert explained("misaligned", SIGNALS, 0.5) == {"b": "M", "c": "M"}
    assert explained(GENERIC, SIGNALS, 0.25) == {"b": "G"}
    assert explained("none", SIGNALS, 1.0) == {}
    assert explained("random", SIGNALS, 1.0) == dict.fromkeys("abcd", "T")


def test_bad_budgets_strategies_and_missing_confidences_are_errors() -> None:
    with pytest.raises(UserError, match=r"in \[0, 1\]"):
        explained("random", SIGNALS, 1.5)
    with pytest.raises(UserError, match="unknown strategy 'loudest'"):
        ranking("loudest", SIGNALS)
    silent = {**SIGNALS, "e": signal(0.1, 0.1, None, 0.1, 0.5)}
    with pytest.raises(UserError, match="report a confidence"):
        ranking("least_confidence", silent)

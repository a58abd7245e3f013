"""Curves, intervals and findings of a ToM sweep (agents.eval.analysis), on hand-made results
whose numbers are worked out by hand."""

from __future__ import annotations

import pytest
from scipy import stats

from agents.eval.analysis import CurvePoint, Sweep, curves, findings
from agents.eval.base import EpisodeKey, Payload

PAIRS = ("s0/a", "s0/b", "s1/a", "s1/b")


def signal(correct: bool, u_hat: float, confidence: float, tiebreak: float) -> Payload:
    return {
        "correct": correct,
        "p": 0.5,
        "text": "T",
        "u_hat": u_hat,
        "utility": u_hat,
        "confidence": confidence,
        "teacher_confidence": 0.5,
        "tiebreak": tiebreak,
        "misaligned_text": "M",
        "misaligned_u_hat": -u_hat,
        "generic_text": "G",
        "generic_u_hat": u_hat / 2,
        "misconception_belief": 0.9 if u_hat > 0.3 else 0.1,
    }


def results(
    right: dict[int, int], explained_right: dict[int, int], taught: dict[int, int]
) -> dict[EpisodeKey, Payload]:
    """Per seed: ``right[seed]`` of the 4 signals answered right (the first ones); the
    expected_utility episode at B = .5 (2 pairs) has ``explained_right[seed]`` right;
    multi-turn: ``taught[seed]`` of 2 later items right with context, 1 without."""
    out: dict[EpisodeKey, Payload] = {}
    for seed in right:
        for k, pair in enumerate(PAIRS):
            out[EpisodeKey("signal", pair, "", 0.0, seed)] = signal(
                k < right[seed], u_hat=0.1 * (4 - k), confidence=0.2 * k, tiebreak=k / 10
            )
        for k, pair in enumerate(PAIRS[:2]):  # the two largest Û
            payload = {"correct": k < explained_right[seed], "p": 0.9, "answer": "x"}
            out[EpisodeKey("episode", pair, "expected_utility", 0.5, seed)] = payload
        for k in range(2):
            out[EpisodeKey("multi", f"s0/l{k}", "taught", 0.0, seed)] = {
                "correct": k < taught[seed]
            }
            out[EpisodeKey("multi", f"s0/l{k}", "control", 0.0, seed)] = {"correct": k < 1}
    return out


def test_accuracy_counts_episodes_for_explained_pairs_and_signals_for_the_rest() -> None:
    r = results({0: 1, 1: 2, 2: 0}, {0: 2, 1: 1, 2: 2}, {0: 2, 1: 2, 2: 1})
    sweep = Sweep(r)
    # seed 0: pairs a, b explained (both right), c, d from signals (wrong): 2/4
    assert [sweep.accuracy("expected_utility", 0.5, s) for s in (0, 1, 2)] == [0.5, 0.25, 0.5]
    assert sweep.per_seed("none", 0.5) == [0.25, 0.5, 0.0]
    assert sweep.accuracy("expected_utility", 0.5, 0, "p") == pytest.approx((0.9 * 2 + 0.5 * 2) / 4)
    half = stats.t.ppf(0.975, 2) * stats.sem([0.25, 0.5, 0.0])
    (point,) = curves(r, ["none"], [0.5])
    assert point == CurvePoint("none", 0.5, pytest.approx(0.25), pytest.approx(0.25 - half),
                               pytest.approx(0.25 + half), 3)  # fmt: skip
    gain = sweep.multi_gain()
    assert gain is not None and gain.mean == pytest.approx((0.5 + 0.5 + 0.0) / 3)
    d = sweep.difference("expected_utility", "none", 0.5)
    assert d.mean == pytest.approx((0.25 - 0.25 + 0.5) / 3)


def test_findings_report_each_check_and_say_when_one_fails() -> None:
    r = results({0: 1, 1: 2, 2: 0}, {0: 2, 1: 1, 2: 2}, {0: 1, 1: 1, 2: 1})
    text = findings(r, ["none", "random", "least_confidence", "expected_utility"], [0.0, 0.5])
    lines = text.splitlines()
    assert lines[0].startswith("Measured over 3 seeds")
    (lc,) = [x for x in lines if x.startswith("- expected_utility ≥ least_confidence")]
    assert "**holds**" in lc and "0.5: +0.167" in lc
    (multi,) = [x for x in lines if "multi-turn gain" in x]
    assert "**does not hold**" in multi and "+0.000 [+0.000, +0.000] over 3 seeds" in multi
    (ran,) = [x for x in lines if x.startswith("- expected_utility vs random")]
    assert "not run" in ran
    assert any(
        x.startswith("**Where expected_utility and least_confidence differ.**") for x in lines
    )

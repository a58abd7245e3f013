"""The intervention functions of Saha, Hase & Bansal (2023): which items a teacher with a
budget explains. Given budget B over N items, the teacher explains the first ⌊B·N⌋ of a
strategy's ranking; ties are broken by a seeded random number per item.

| strategy | explains first | explanation |
|---|---|---|
| ``none`` | nothing | — |
| ``random`` | a seeded random order | the teacher's chosen one |
| ``oracle`` | the largest *true* utility (from the real student) | the chosen one |
| ``least_confidence`` | the lowest student confidence | the chosen one |
| ``teacher_confidence`` | the highest teacher confidence | the chosen one |
| ``expected_utility`` | the largest Û (the teacher's mental model) | the chosen one |
| ``misaligned`` | the lowest Û | the misleading one where configured |
| ``expected_utility_generic`` | the largest Û of the generic text | the generic one |

The last is not one of the paper's seven: it is the contrast of personalised and generic
explanations (the same teacher, choosing by Û, with only the generic text to give).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from protocols import UserError

__all__ = [
    "GENERIC",
    "STRATEGIES",
    "Signal",
    "Strategy",
    "explained",
    "ranking",
]

Strategy = Literal[
    "none",
    "random",
    "oracle",
    "least_confidence",
    "teacher_confidence",
    "expected_utility",
    "misaligned",
]
STRATEGIES: tuple[Strategy, ...] = get_args(Strategy)
"""The seven intervention functions of the paper, in the order of their curves."""
GENERIC = "expected_utility_generic"
"""The series that contrasts generic explanations with personalised ones."""


@dataclass(frozen=True)
class Signal:
    """What a teacher and the oracle know of one item before deciding (a stage-0 result).

    Attributes:
        text: The explanation the teacher would give (its best-Û candidate).
        u_hat: Û of ``text``: P̂(correct | text) − P̂(correct), the teacher's estimate.
        utility: The true utility of ``text``: P(correct | text) − P(correct), from the
            student itself (only the oracle may use it).
        confidence: The student's reported confidence in its unexplained answer (``None``
            when it reports none).
        teacher_confidence: The teacher's confidence in its explanation.
        tiebreak: A seeded uniform number that breaks ties (and orders ``random``).
        misaligned_text: What the misaligned teacher gives (the misleading text, or
            ``text``).
        misaligned_u_hat: Û of ``misaligned_text``.
        generic_text: The generic explanation (``None`` without the contrast).
        generic_u_hat: Û of ``generic_text``.
    """

    text: str
    u_hat: float
    utility: float
    confidence: float | None
    teacher_confidence: float
    tiebreak: float
    misaligned_text: str
    misaligned_u_hat: float
    generic_text: str | None = None
    generic_u_hat: float | None = None

    @classmethod
    def of(cls, payload: Mapping[str, Any]) -> Signal:
        """The signal stored in a stage-0 payload."""
        return cls(**{name: payload[name] for name in cls.__dataclass_fields__})


def _key(strategy: str, s: Signal) -> float:
    """The ranking score: larger is explained first."""
    match strategy:
        case "random":
            return 0.0
        case "oracle":
            return s.utility
        case "least_confidence":
            return -s.confidence if s.confidence is not None else -math.inf
        case "teacher_confidence":
            return s.teacher_confidence
        case "expected_utility":
            return s.u_hat
        case "misaligned":
            return -s.misaligned_u_hat
        case "expected_utility_generic":
            if s.generic_u_hat is None:
                raise UserError("expected_utility_generic needs signals with a generic text")
            return s.generic_u_hat
    raise UserError(f"unknown strategy {strategy!r}; known: {', '.join(STRATEGIES)}, {GENERIC}")


def ranking(strategy: str, signals: Mapping[str, Signal]) -> list[str]:
    """The items in the order ``strategy`` explains them (ties: by the seeded tiebreak).

    Raises:
        UserError: An unknown strategy, or ``least_confidence`` for a student that reports
            no confidence.
    """
    if strategy == "none":
        return []
    if strategy == "least_confidence" and any(s.confidence is None for s in signals.values()):
        raise UserError("least_confidence needs students that report a confidence")
    return sorted(signals, key=lambda i: (-_key(strategy, signals[i]), signals[i].tiebreak, i))


def explained(strategy: str, signals: Mapping[str, Signal], budget: float) -> dict[str, str]:
    """The items ``strategy`` explains at ``budget`` (the first ⌊B·N⌋ of its ranking), with
    the text it gives each.

    Raises:
        UserError: ``budget`` outside [0, 1], or as ``ranking``.
    """
    if not 0.0 <= budget <= 1.0:
        raise UserError(f"a budget is a fraction of the items, in [0, 1]; got {budget!r}")
    count = math.floor(budget * len(signals) + 1e-9)
    chosen = ranking(strategy, signals)[:count]
    if strategy == "misaligned":
        return {i: signals[i].misaligned_text for i in chosen}
    if strategy == GENERIC:
        return {i: str(signals[i].generic_text) for i in chosen}
    return {i: signals[i].text for i in chosen}

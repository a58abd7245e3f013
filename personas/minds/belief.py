"""The state space of the teacher's mental model: for one skill, whether the student
knows it and which of its misconceptions are active, with the model's initial belief,
answer likelihoods and reading transitions. Shared by the per-student model
(``EstimatingMentalModel``) and the population fit (``fit_mental_params``).

Equations: ``docs/simulation.md``, section "The teacher's mental model".
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from numpy.typing import NDArray

from personas.minds.learner import LearnerItem
from personas.minds.reading import Reading
from protocols import UserError

__all__ = [
    "COLLISION",
    "OFFSET_SHRINK",
    "ConfidenceOffset",
    "MentalParams",
    "SkillSpace",
    "answer_index",
    "same_answer",
    "skill_spaces",
]

Array = NDArray[np.float64]

#: P(a wrong answer that no misconception explains equals a misconception's answer by
#: chance). Keeps one coincidence from being proof of a misconception (an off-by-one
#: answer can equal an EXHIBITS wrong answer); small because such collisions are rare.
COLLISION = 0.02

#: A student's confidence offset (how much higher they report than the population) is
#: the mean deviation of their earlier confidences, shrunk toward 0 as if this many
#: answers at the population mean came first: one early answer is weak evidence of a
#: bias. Set once (2, "a prior worth two answers"), not tuned.
OFFSET_SHRINK = 2.0


@dataclass(frozen=True)
class MentalParams:
    """What the teacher assumes about students in general, fitted from observed answers
    (``fit_mental_params``); the defaults are only the fit's starting point.

    Attributes:
        prior: P(a skill is known before teaching).
        learn: P(an unknown skill becomes known after a text teaching it at strength 1).
        slip: P(wrong although the skill is known).
        guess: P(right although the skill is not known, or is blocked by a misconception).
        misconception_prior: P(a misconception is active before teaching).
        misconception_rate: P(a wrong answer is the active misconception's answer).
        repeat: P(the student repeats the answer a text revealed for the item).
        confidence_known: Mean calibrated confidence when the skill is usable.
        confidence_unknown: Mean calibrated confidence when it is not.
        confidence_sd: Spread of calibrated confidence around those means.
        confidence_mean: The population's mean reported confidence, the reference of each
            student's offset (``ConfidenceOffset``); the sample mean, not searched.
    """

    prior: float = 0.3
    learn: float = 0.3
    slip: float = 0.1
    guess: float = 0.2
    misconception_prior: float = 0.2
    misconception_rate: float = 0.5
    repeat: float = 0.5
    confidence_known: float = 0.7
    confidence_unknown: float = 0.4
    confidence_sd: float = 0.2
    confidence_mean: float = 0.5

    def __post_init__(self) -> None:
        for name, value in self.__dict__.items():
            if not 0.0 <= value <= 1.0:
                raise UserError(f"MentalParams.{name} must be in [0, 1], got {value!r}")
        if self.confidence_sd <= 0:
            raise UserError("MentalParams.confidence_sd must be > 0")


def _flip(p_on: float, p_off: float) -> Array:
    """Transition of one binary factor: row = from (0, 1), column = to."""
    return np.array([[1 - p_on, p_on], [p_off, 1 - p_off]])


class SkillSpace:
    """The hidden states of one skill: (known, active misconceptions of the skill).

    Args:
        skill: The skill id.
        misconceptions: The misconception ids on this skill (those items exhibit).
    """

    def __init__(self, skill: str, misconceptions: Iterable[str]) -> None:
        self.skill = skill
        self.misconceptions = tuple(sorted(set(misconceptions)))
        n = len(self.misconceptions)
        states = np.array(list(itertools.product((0, 1), repeat=n + 1)), dtype=np.int64)
        self.bits = states
        states = states.astype(bool)
        self.known = states[:, 0]
        self.active = states[:, 1:]
        self.usable = self.known & ~self.active.any(axis=1)

    @property
    def size(self) -> int:
        return len(self.known)

    def initial(self, p: MentalParams) -> Array:
        """The belief before any observation: independent prior on each factor."""
        belief = np.where(self.known, p.prior, 1 - p.prior)
        for j in range(len(self.misconceptions)):
            on = p.misconception_prior
            belief = belief * np.where(self.active[:, j], on, 1 - on)
        return np.asarray(belief, dtype=np.float64)

    def transition(self, reading: Reading, p: MentalParams) -> Array:
        """P(state after | state before) for a text read as ``reading``: the skill is
        learned with P = learn · teaches[skill]; each misconception is removed with
        P = remedies[m] and implanted with P = implants[m] (kept when both apply)."""
        factors = [_flip(min(1.0, p.learn * reading.teaches.get(self.skill, 0.0)), 0.0)]
        for m in self.misconceptions:
            on = reading.implants.get(m, 0.0)
            factors.append(_flip(on, reading.remedies.get(m, 0.0) * (1 - on)))
        matrix = np.ones((self.size, self.size))
        for f, factor in enumerate(factors):
            bit = self.bits[:, f]
            matrix = matrix * factor[bit[:, None], bit[None, :]]
        return matrix

    def touched_by(self, reading: Reading) -> bool:
        """Whether ``reading`` can change this skill's state at all."""
        return reading.teaches.get(self.skill, 0.0) > 0 or any(
            reading.implants.get(m, 0.0) > 0 or reading.remedies.get(m, 0.0) > 0
            for m in self.misconceptions
        )

    def answers(self, item: LearnerItem) -> list[str]:
        """The answers told apart for ``item``: the right one, then each EXHIBITS wrong
        answer of a misconception on this skill ("any other" comes after them)."""
        shown = [m for m in self.misconceptions if m in item.misconception_answers]
        return [item.answer, *(item.misconception_answers[m] for m in shown)]

    def p_correct(self, p: MentalParams) -> Array:
        """P(right answer | state), per state."""
        return np.where(self.usable, 1 - p.slip, p.guess)

    def answer_table(self, item: LearnerItem, p: MentalParams) -> tuple[list[str], Array]:
        """The answers the model tells apart for ``item`` (the right one, each EXHIBITS
        wrong answer, then "any other"), and P(answer | state): a row per answer."""
        shown = [m for m in self.misconceptions if m in item.misconception_answers]
        answers = self.answers(item)
        right = self.p_correct(p)
        first = np.full(self.size, -1)
        for j in reversed(range(len(shown))):
            first = np.where(self.active[:, self.misconceptions.index(shown[j])], j, first)
        has = first >= 0
        other_mass = (1 - right) * (1 - p.misconception_rate * has)
        rows = [right]
        for j in range(len(shown)):
            by_it = (1 - right) * p.misconception_rate * (first == j)
            rows.append(by_it + other_mass * COLLISION)
        rows.append(other_mass * (1 - COLLISION * len(shown)))
        return answers, np.asarray(np.stack(rows), dtype=np.float64)

    def confidence_density(self, confidence: float | None, p: MentalParams) -> Array:
        """The likelihood of a reported confidence per state (Gaussian around the
        fitted mean for usable and unusable skill); all ones when none was reported."""
        if confidence is None:
            return np.ones(self.size)
        mean = np.where(self.usable, p.confidence_known, p.confidence_unknown)
        z = (confidence - mean) / p.confidence_sd
        return np.asarray(np.exp(-0.5 * z * z) / p.confidence_sd, dtype=np.float64)


class ConfidenceOffset:
    """Calibrates one student's reported confidences: each is shifted by the student's
    running offset from the population mean (students differ in bias; an overconfident
    one reports high confidence whether it knows or not).

    Args:
        mean: The population's mean reported confidence.
    """

    def __init__(self, mean: float) -> None:
        self.mean = mean
        self.total = 0.0
        self.count = 0

    def calibrate(self, confidence: float | None) -> float | None:
        """The calibrated value of the next reported confidence (then it is recorded)."""
        if confidence is None:
            return None
        calibrated = confidence - self.total / (self.count + OFFSET_SHRINK)
        self.total += confidence - self.mean
        self.count += 1
        return calibrated


def _value(answer: str) -> Fraction | str:
    try:
        return Fraction(answer.strip())
    except (ValueError, ZeroDivisionError):
        return answer.strip()


def same_answer(a: str, b: str) -> bool:
    """Whether two answers are the same: equal as numbers (``2/4`` is ``1/2``), else as text."""
    return _value(a) == _value(b)


def answer_index(answers: Sequence[str], answer: str) -> int:
    """The row of ``answer_table`` an observed answer falls in ("any other" last)."""
    for i, a in enumerate(answers):
        if same_answer(a, answer):
            return i
    return len(answers)


def skill_spaces(items: Mapping[str, LearnerItem]) -> dict[str, SkillSpace]:
    """One state space per skill the items need, with the misconceptions items exhibit."""
    if not items:
        raise UserError("the mental model needs at least one item")
    on: dict[str, set[str]] = {i.skill: set() for i in items.values()}
    for item in items.values():
        on[item.skill].update(item.misconception_answers)
    return {s: SkillSpace(s, ms) for s, ms in sorted(on.items())}

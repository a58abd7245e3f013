"""A simulated learner: Bayesian knowledge tracing with misconceptions and reported
confidence. It needs no LLM and is the deterministic test bed for teaching strategies;
its results describe the simulation, never LLMs. Equations: ``docs/simulation.md``.

Each skill is known or not (a hidden binary state, as in BKT; Corbett & Anderson, 1995).
A known skill is answered correctly with probability 1 − slip, an unknown one with
probability guess. An *active misconception* on a skill makes the learner act as if the
skill were unknown and, when it answers wrongly, give the misconception's characteristic
answer. What a text does is judged from the text by the reading model
(``personas.minds.reading``); ``study`` samples the transition it describes: each active
misconception is removed with probability ``remedies[m]``, each other one it is susceptible
to becomes active with probability ``implants[m]``, each unknown skill becomes known with
probability learn × ``teaches[s]``, and an answer the text reveals for the item at hand is
held in short-term recall until the learner is asked a different item.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction

from personas.minds.checks import check_fields
from personas.minds.reading import Reading
from protocols import UserError

__all__ = ["PROFILES", "LearnerItem", "LearnerProfile", "Response", "SimulatedLearner"]


@dataclass(frozen=True)
class LearnerProfile:
    """Parameters of a simulated learner (all probabilities in [0, 1]).

    Attributes:
        prior: P(a skill is known at the start).
        learn: P(a text that fully teaches a skill (``Reading.teaches`` = 1) makes an
            unknown skill known).
        slip: P(wrong answer although the skill is known).
        guess: P(right answer although the skill is unknown).
        misconception_rate: P(a wrong answer is the active misconception's answer).
        confidence_signal: 0: reported confidence ignores P(correct); 1: follows it fully.
        confidence_bias: Added to confidence (> 0 is overconfident).
        confidence_noise: Standard deviation of the noise on confidence.
    """

    prior: float = 0.3
    learn: float = 0.5
    slip: float = 0.1
    guess: float = 0.15
    misconception_rate: float = 0.8
    confidence_signal: float = 0.7
    confidence_bias: float = 0.0
    confidence_noise: float = 0.1

    def __post_init__(self) -> None:
        check_fields(self, low={"confidence_bias": -1.0})


PROFILES: dict[str, LearnerProfile] = {
    "novice": LearnerProfile(prior=0.2, learn=0.5),
    "average": LearnerProfile(prior=0.45, learn=0.5),
    "strong": LearnerProfile(prior=0.8, learn=0.6, slip=0.05, guess=0.2),
    "overconfident": LearnerProfile(
        prior=0.4, learn=0.3, confidence_signal=0.3, confidence_bias=0.35
    ),
}


@dataclass(frozen=True)
class LearnerItem:
    """An item as the learner sees it: the skill it needs, the right answer, and the wrong
    answer each misconception produces."""

    id: str
    skill: str
    answer: str
    misconception_answers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Response:
    """An answer with its reported confidence, and whether it is correct."""

    text: str
    correct: bool
    confidence: float


def _value(answer: str) -> Fraction | str:
    """An answer as a number where it is one (``2/4`` equals ``1/2``), else its text."""
    try:
        return Fraction(answer.strip())
    except (ValueError, ZeroDivisionError):
        return answer.strip()


def _other_wrong(answer: str, rng: random.Random) -> str:
    """A plausible wrong answer that no misconception explains: off by one, or doubled."""
    try:
        value = Fraction(answer.strip())
    except (ValueError, ZeroDivisionError):
        return "I don't know"
    wrong = (
        rng.choice([value + 1, value - 1, value * 2])
        if value.denominator == 1
        else rng.choice(
            [
                Fraction(value.numerator + 1, value.denominator),
                Fraction(value.numerator, value.denominator + 1),
            ]
        )
    )
    return str(wrong)


class SimulatedLearner:
    """The hidden knowledge state of one simulated student.

    Args:
        skills: The skills it may know.
        profile: Its parameters.
        rng: The source of randomness (seed it for reproducible runs).
        misconceptions: Misconceptions active at the start, by id, with their skill.
        susceptible: Further misconceptions a text can implant, by id, with their skill.
    """

    def __init__(
        self,
        skills: Iterable[str],
        profile: LearnerProfile,
        rng: random.Random,
        misconceptions: Mapping[str, str] | None = None,
        susceptible: Mapping[str, str] | None = None,
    ) -> None:
        self.profile = profile
        self.rng = rng
        self.known = {s: rng.random() < profile.prior for s in skills}
        self.misconception_skill = {**(susceptible or {}), **(misconceptions or {})}
        self.active: set[str] = set(misconceptions or {})
        self.current: str | None = None  # the item at hand: the last one asked
        self.recall: str | None = None  # an answer a text revealed for it

    def _blocked(self, skill: str) -> bool:
        return any(self.misconception_skill.get(m) == skill for m in self.active)

    def p_correct(self, item: LearnerItem) -> float:
        """P(correct answer) given the current hidden state."""
        if item.skill not in self.known:
            raise UserError(
                f"item {item.id!r} needs skill {item.skill!r}, which this learner "
                f"does not model (skills: {', '.join(sorted(self.known))})"
            )
        knows = self.known[item.skill] and not self._blocked(item.skill)
        return 1 - self.profile.slip if knows else self.profile.guess

    def answer(self, item: LearnerItem) -> Response:
        """Answer ``item``: right or wrong by the BKT emission probabilities, a wrong
        answer coming from an active misconception where there is one. An answer recalled
        for this item (a text revealed it) is repeated with probability 1 − slip."""
        if item.id != self.current:
            self.current, self.recall = item.id, None
        p = self.p_correct(item)
        if self.recall is not None and self.rng.random() < 1 - self.profile.slip:
            right = _value(self.recall) == _value(item.answer)
            return self._respond(self.recall, right, 1 - self.profile.slip)
        correct = self.rng.random() < p
        if correct:
            text = item.answer
        else:
            mine = [m for m in sorted(self.active) if m in item.misconception_answers]
            if mine and self.rng.random() < self.profile.misconception_rate:
                text = item.misconception_answers[mine[0]]
            else:
                text = _other_wrong(item.answer, self.rng)
        return self._respond(text, correct, p)

    def _respond(self, text: str, correct: bool, p: float) -> Response:
        """The answer with its reported confidence, which tracks ``p`` = P(correct)."""
        prof = self.profile
        raw = prof.confidence_signal * p + (1 - prof.confidence_signal) * 0.5
        noisy = raw + prof.confidence_bias + self.rng.gauss(0.0, prof.confidence_noise)
        return Response(text, correct, round(min(1.0, max(0.0, noisy)), 3))

    def _happens(self, p: float) -> bool:
        """A Bernoulli(p) draw; none at all for p = 0, so a text that does nothing leaves
        the random stream, and so the rest of the run, exactly as it was."""
        return p > 0 and self.rng.random() < p

    def study(self, reading: Reading) -> None:
        """Sample the transition after reading a text (see ``docs/simulation.md``)."""
        for misconception in sorted(self.active):
            if self._happens(reading.remedies.get(misconception, 0.0)):
                self.active.discard(misconception)
        for misconception, p in sorted(reading.implants.items()):
            susceptible = misconception in self.misconception_skill
            if susceptible and misconception not in self.active and self._happens(p):
                self.active.add(misconception)
        for skill, known in sorted(self.known.items()):
            if not known and self._happens(self.profile.learn * reading.teaches.get(skill, 0.0)):
                self.known[skill] = True
        if self.current is not None and self.current in reading.reveals:
            self.recall = reading.reveals[self.current]

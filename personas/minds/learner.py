"""A simulated learner: Bayesian knowledge tracing with misconceptions and reported
confidence. It needs no LLM and is the deterministic test bed for teaching strategies;
its results describe the simulation, never LLMs. Equations: ``docs/simulation.md``.

Each skill is known or not (a hidden binary state, as in BKT; Corbett & Anderson, 1995).
A known skill is answered correctly with probability 1 − slip, an unknown one with
probability guess. An *active misconception* on a skill makes the learner act as if the
skill were unknown and, when it answers wrongly, give the misconception's characteristic
answer. Explanations change the hidden state according to their appraisal: a good
explanation that targets the item's skill teaches it with probability learn × quality and
removes a targeted misconception with probability quality; an untargeted one teaches with
probability spillover × learn × quality; a misleading one un-teaches a known skill with
probability harm and implants the misconceptions it promotes.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction

from protocols import UserError

__all__ = ["PROFILES", "Appraisal", "LearnerItem", "LearnerProfile", "Response", "SimulatedLearner"]


@dataclass(frozen=True)
class LearnerProfile:
    """Parameters of a simulated learner (all probabilities in [0, 1]).

    Attributes:
        prior: P(a skill is known at the start).
        learn: P(a good, targeted explanation teaches an unknown skill).
        slip: P(wrong answer although the skill is known).
        guess: P(right answer although the skill is unknown).
        misconception_rate: P(a wrong answer is the active misconception's answer).
        spillover: How much an explanation of another skill still teaches, relative to learn.
        harm: P(a misleading explanation un-teaches a known skill).
        confidence_signal: 0: reported confidence ignores P(correct); 1: follows it fully.
        confidence_bias: Added to confidence (> 0 is overconfident).
        confidence_noise: Standard deviation of the noise on confidence.
    """

    prior: float = 0.3
    learn: float = 0.5
    slip: float = 0.1
    guess: float = 0.15
    misconception_rate: float = 0.8
    spillover: float = 0.2
    harm: float = 0.4
    confidence_signal: float = 0.7
    confidence_bias: float = 0.0
    confidence_noise: float = 0.1

    def __post_init__(self) -> None:
        for name, value in self.__dict__.items():
            low = -1.0 if name == "confidence_bias" else 0.0
            if not low <= value <= 1.0:
                raise UserError(f"LearnerProfile.{name} must be in [{low:g}, 1], got {value!r}")


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
class Appraisal:
    """What an explanation does, as the simulation judges it: which skills it teaches,
    which misconceptions it remedies, which it promotes, how good it is."""

    skills: frozenset[str] = frozenset()
    remedies: frozenset[str] = frozenset()
    implants: frozenset[str] = frozenset()
    quality: float = 1.0
    misleading: bool = False


@dataclass(frozen=True)
class Response:
    """An answer with its reported confidence, and whether it is correct."""

    text: str
    correct: bool
    confidence: float


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
    """

    def __init__(
        self,
        skills: Iterable[str],
        profile: LearnerProfile,
        rng: random.Random,
        misconceptions: Mapping[str, str] | None = None,
    ) -> None:
        self.profile = profile
        self.rng = rng
        self.known = {s: rng.random() < profile.prior for s in skills}
        self.misconception_skill = dict(misconceptions or {})
        self.active: set[str] = set(self.misconception_skill)

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
        answer coming from an active misconception where there is one."""
        p = self.p_correct(item)
        correct = self.rng.random() < p
        if correct:
            text = item.answer
        else:
            mine = [m for m in sorted(self.active) if m in item.misconception_answers]
            if mine and self.rng.random() < self.profile.misconception_rate:
                text = item.misconception_answers[mine[0]]
            else:
                text = _other_wrong(item.answer, self.rng)
        prof = self.profile
        raw = prof.confidence_signal * p + (1 - prof.confidence_signal) * 0.5
        noisy = raw + prof.confidence_bias + self.rng.gauss(0.0, prof.confidence_noise)
        return Response(text, correct, round(min(1.0, max(0.0, noisy)), 3))

    def study(self, appraisal: Appraisal) -> None:
        """Update the hidden state after an explanation."""
        prof = self.profile
        if appraisal.misleading:
            for skill in appraisal.skills:
                if self.known.get(skill) and self.rng.random() < prof.harm:
                    self.known[skill] = False
            for misconception in appraisal.implants:
                if misconception in self.misconception_skill:
                    self.active.add(misconception)
            return
        for misconception in appraisal.remedies & self.active:
            if self.rng.random() < appraisal.quality:
                self.active.discard(misconception)
        for skill, known in self.known.items():
            if known:
                continue
            rate = prof.learn if skill in appraisal.skills else prof.learn * prof.spillover
            if self.rng.random() < rate * appraisal.quality:
                self.known[skill] = True

"""Theory of mind for simulated students: the teacher's Bayesian model of what a student
knows, and its predictions with and without an explanation (Saha, Hase & Bansal, 2023).

The model keeps P(skill known) per skill. Observing an answer applies Bayes' rule with
the assumed slip and guess rates (BKT inference); an explanation applies the expected
learning transition. ``predict(item, with_explanation)`` gives P(correct), and
``utility(item)`` the Expected Utility of explaining: P(correct | explanation) −
P(correct | no explanation).
"""

from __future__ import annotations

from collections.abc import Iterable

from personas.minds.learner import LearnerItem, LearnerProfile
from personas.minds.reading import Reading
from protocols import UserError

__all__ = ["BKTMentalModel", "brier_score"]


class BKTMentalModel:
    """A posterior over one student's skills.

    Args:
        skills: The skills to track.
        assumed: The learner parameters the teacher assumes (prior, learn, slip, guess).
    """

    def __init__(self, skills: Iterable[str], assumed: LearnerProfile) -> None:
        self.assumed = assumed
        self.p_known = {s: assumed.prior for s in skills}

    def _p(self, item: LearnerItem) -> float:
        if item.skill not in self.p_known:
            raise UserError(f"the mental model does not track skill {item.skill!r}")
        return self.p_known[item.skill]

    def observe(self, item: LearnerItem, correct: bool) -> None:
        """Bayes' rule on the item's skill after seeing the student's answer."""
        p, slip, guess = self._p(item), self.assumed.slip, self.assumed.guess
        if correct:
            posterior = p * (1 - slip) / (p * (1 - slip) + (1 - p) * guess)
        else:
            posterior = p * slip / (p * slip + (1 - p) * (1 - guess))
        self.p_known[item.skill] = posterior

    def _after(self, p: float, skill: str, reading: Reading) -> float:
        return p + (1 - p) * self.assumed.learn * reading.teaches.get(skill, 0.0)

    def observe_explanation(self, reading: Reading) -> None:
        """The expected effect of an explanation on every skill."""
        for skill, p in self.p_known.items():
            self.p_known[skill] = self._after(p, skill, reading)

    def predict(
        self, item: LearnerItem, with_explanation: bool = False, reading: Reading | None = None
    ) -> float:
        """P(the student answers ``item`` correctly), now or after an explanation (by
        default a good one that targets the item's skill)."""
        p = self._p(item)
        if with_explanation:
            p = self._after(p, item.skill, reading or Reading(teaches={item.skill: 1.0}))
        return p * (1 - self.assumed.slip) + (1 - p) * self.assumed.guess

    def utility(self, item: LearnerItem, reading: Reading | None = None) -> float:
        """Expected Utility of explaining ``item``: Û = P̂(correct | explanation) −
        P̂(correct | no explanation)."""
        return self.predict(item, True, reading) - self.predict(item, False)


def brier_score(predictions: Iterable[float], outcomes: Iterable[bool]) -> float:
    """Mean squared error of probabilistic predictions (lower is better)."""
    pairs = list(zip(predictions, outcomes, strict=True))
    if not pairs:
        raise UserError("brier_score needs at least one prediction")
    return sum((p - float(o)) ** 2 for p, o in pairs) / len(pairs)

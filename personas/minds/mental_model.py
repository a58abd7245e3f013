"""Theory of mind for simulated students (Saha, Hase & Bansal, 2023): the teacher's
*estimating* model of one student. It never sees the student's true parameters: it
starts from population parameters fitted on what the teacher observed of earlier
students (``fit_mental_params``), and updates a posterior over this student's hidden
state from this student's answers and confidences.

The hidden state, per skill, is whether the skill is known and which of its
misconceptions are active (``belief.SkillSpace``). A wrong answer equal to an item's
EXHIBITS ``wrong_answer`` is evidence for that misconception. An explanation's effect is
predicted by reading its *text* with the ``ReadingModel``, so
Û(item, text) = P̂(correct | the student read text) − P̂(correct | nothing) depends on
what the text says and on what the teacher believes the student holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from personas.minds.belief import (
    Array,
    ConfidenceOffset,
    MentalParams,
    answer_index,
    same_answer,
    skill_spaces,
)
from personas.minds.learner import LearnerItem
from personas.minds.reading import Reading
from protocols import UserError

__all__ = ["EstimatingMentalModel", "Reader", "Seen", "Told", "brier_score"]


class Reader(Protocol):
    """What the mental model needs of a reading model (``ReadingModel`` is one)."""

    def read(self, text: str) -> Reading:
        """What ``text`` does to a learner, judged from the text alone."""
        ...


@dataclass(frozen=True)
class Seen:
    """An answer the teacher saw: the item, the answer text, the reported confidence."""

    item: str
    answer: str
    confidence: float | None = None


@dataclass(frozen=True)
class Told:
    """An explanation the teacher gave (its text; what it does is for the reader to judge)."""

    text: str


class EstimatingMentalModel:
    """The teacher's posterior over one student's knowledge and misconceptions.

    Args:
        items: The items the teacher asks about (``learner_items(kg)``): each item's skill,
            right answer and EXHIBITS wrong answers. Nothing about the student.
        reader: Judges what a text does (``ReadingModel(kg)``).
        params: Population parameters, fitted by ``fit_mental_params`` on observed
            answers of earlier students (defaults: an uninformed starting point).
    """

    def __init__(
        self,
        items: Mapping[str, LearnerItem],
        reader: Reader,
        params: MentalParams | None = None,
    ) -> None:
        self.items = dict(items)
        self.reader = reader
        self.params = params or MentalParams()
        self.spaces = skill_spaces(self.items)
        self.belief = {s: space.initial(self.params) for s, space in self.spaces.items()}
        self.current: str | None = None  # the item at hand: the last one answered
        self.recall: str | None = None  # an answer a text revealed for it
        self.offset = ConfidenceOffset(self.params.confidence_mean)
        self._readings: dict[str, Reading] = {}

    def _item(self, item_id: str) -> LearnerItem:
        if item_id not in self.items:
            raise UserError(
                f"the mental model does not know item {item_id!r}; known: "
                f"{', '.join(sorted(self.items))}"
            )
        return self.items[item_id]

    def read(self, text: str) -> Reading:
        """The reader's judgement of ``text`` (cached: reading is deterministic)."""
        if text not in self._readings:
            self._readings[text] = self.reader.read(text)
        return self._readings[text]

    def p_known(self, skill: str) -> float:
        """P̂(the student can use ``skill``: known, and no misconception blocks it)."""
        space = self.spaces[skill]
        return float(self.belief[skill] @ space.usable)

    def misconceptions(self) -> dict[str, float]:
        """P̂(active) for every misconception the items exhibit."""
        out = {}
        for skill, space in self.spaces.items():
            for j, m in enumerate(space.misconceptions):
                out[m] = float(self.belief[skill] @ space.active[:, j])
        return out

    def observe(self, item_id: str, answer: str, confidence: float | None = None) -> float:
        """Bayes' rule after seeing ``answer`` (and the reported ``confidence``, calibrated
        by the student's running offset).

        Returns:
            The log-likelihood of the observation given everything seen before (the term
            this answer adds to ``log_likelihood`` when fitting).
        """
        item = self._item(item_id)
        space = self.spaces[item.skill]
        answers, table = space.answer_table(item, self.params)
        likelihood = table[answer_index(answers, answer)]
        if item_id != self.current:
            self.current, self.recall = item_id, None
        if self.recall is not None:
            repeat = self.params.repeat
            same = same_answer(answer, self.recall)
            likelihood = repeat * same + (1 - repeat) * likelihood
        posterior = self.belief[item.skill] * likelihood
        calibrated = self.offset.calibrate(confidence)
        posterior = posterior * space.confidence_density(calibrated, self.params)
        total = posterior.sum()
        if total <= 0:
            raise UserError(f"answer {answer!r} to {item_id} is impossible under the model")
        self.belief[item.skill] = posterior / total
        return float(np.log(total))

    def _after(self, reading: Reading) -> dict[str, Array]:
        return {
            s: self.belief[s] @ space.transition(reading, self.params)
            for s, space in self.spaces.items()
        }

    def observe_explanation(self, text: str) -> None:
        """The expected effect of the student reading ``text``, as the reader judges it
        (an answer it reveals for the item at hand may be repeated on that item)."""
        reading = self.read(text)
        self.belief = self._after(reading)
        if self.current is not None and self.current in reading.reveals:
            self.recall = reading.reveals[self.current]

    def predict(self, item_id: str, text: str | None = None) -> float:
        """P̂(the student answers ``item_id`` correctly), now or right after reading
        ``text`` with the item at hand (so an answer the text reveals for it may be
        repeated, with probability ``repeat``)."""
        item = self._item(item_id)
        space = self.spaces[item.skill]
        told = self.recall if item_id == self.current else None
        belief = self.belief[item.skill]
        if text is not None:
            reading = self.read(text)
            belief = belief @ space.transition(reading, self.params)
            told = reading.reveals.get(item_id, told)
        p = float(belief @ space.p_correct(self.params))
        if told is not None:
            repeat = self.params.repeat
            p = repeat * same_answer(told, item.answer) + (1 - repeat) * p
        return p

    def utility(self, item_id: str, text: str) -> float:
        """Expected Utility of explaining ``item_id`` with ``text``:
        Û = P̂(correct | the student read text) − P̂(correct | no explanation)."""
        return self.predict(item_id, text) - self.predict(item_id)

    def best(self, item_id: str, texts: Iterable[str]) -> tuple[str, float]:
        """The candidate text with the highest Û for ``item_id``, and its Û."""
        scored = [(self.utility(item_id, t), t) for t in texts]
        if not scored:
            raise UserError("best() needs at least one candidate text")
        u, text = max(scored, key=lambda pair: pair[0])
        return text, u


def brier_score(predictions: Iterable[float], outcomes: Iterable[bool]) -> float:
    """Mean squared error of probabilistic predictions (lower is better)."""
    pairs = list(zip(predictions, outcomes, strict=True))
    if not pairs:
        raise UserError("brier_score needs at least one prediction")
    return float(np.mean([(p - float(o)) ** 2 for p, o in pairs]))

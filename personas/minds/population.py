"""Seeded populations of simulated learners taught by a simple protocol, recorded as the
teacher sees them (``Seen`` answers and ``Told`` texts): the data the teacher's mental
model is fitted on and evaluated against. Everything here is a simulation.

Protocol per student (as in Saha et al.'s setting, an explanation is given for the item
at hand): take the items in a random order; answer each; with probability
``explain_rate`` read a text drawn at random from the candidates and answer the same item
again. Then answer every item once more (a post-test, where learning shows).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from knowledge_graph import GraphStore
from personas.minds.belief import same_answer
from personas.minds.learner import PROFILES, LearnerItem, LearnerProfile, SimulatedLearner
from personas.minds.mental_fit import History
from personas.minds.mental_model import EstimatingMentalModel, Seen, Told
from personas.minds.reading import ReadingModel
from protocols import UserError

__all__ = [
    "MISCONCEPTION_SHARE",
    "TaughtStudent",
    "kg_texts",
    "new_learner",
    "replay_predictions",
    "taught_population",
]

#: P(a student starts with a given misconception) in simulated populations: a design
#: choice of the simulation (high enough that diagnosis matters), not a measured rate.
MISCONCEPTION_SHARE = 0.3


@dataclass
class TaughtStudent:
    """A simulated student and what the teacher observed of it."""

    learner: SimulatedLearner
    history: list[Seen | Told]


def kg_texts(kg: GraphStore) -> dict[str, str]:
    """Texts a teacher could say, from the graph, keyed by where they come from: every
    Explanation node's text, every Skill's description, and every Misconception's
    description (which states the wrong rule: a misleading text)."""
    texts = {}
    for label, prop in (
        ("Explanation", "text"),
        ("Skill", "description"),
        ("Misconception", "description"),
    ):
        for node in kg.match(label):
            if prop in node.properties:
                texts[node.id] = str(node.properties[prop])
    if not texts:
        raise UserError("the graph has no Explanation, Skill or Misconception text")
    return texts


def new_learner(
    items: Mapping[str, LearnerItem],
    rng: random.Random,
    profiles: Sequence[LearnerProfile] = tuple(PROFILES.values()),
    share: float = MISCONCEPTION_SHARE,
) -> SimulatedLearner:
    """One learner: a profile drawn uniformly, each misconception the items exhibit
    active with probability ``share`` (and the others implantable)."""
    skill_of = {m: i.skill for i in items.values() for m in i.misconception_answers}
    held = {m: s for m, s in sorted(skill_of.items()) if rng.random() < share}
    skills = sorted({i.skill for i in items.values()})
    profile = rng.choice(list(profiles))
    return SimulatedLearner(skills, profile, rng, held, susceptible=skill_of)


def _answer(student: TaughtStudent, item: LearnerItem) -> None:
    response = student.learner.answer(item)
    student.history.append(Seen(item.id, response.text, response.confidence))


def taught_population(
    kg: GraphStore,
    items: Mapping[str, LearnerItem],
    *,
    n: int,
    seed: int,
    texts: Sequence[str] | None = None,
    explain_rate: float = 0.5,
    profiles: Sequence[LearnerProfile] = tuple(PROFILES.values()),
    share: float = MISCONCEPTION_SHARE,
) -> list[TaughtStudent]:
    """``n`` seeded simulated students taught by the protocol above.

    Args:
        kg: The knowledge graph (its ``ReadingModel`` decides what texts do to learners).
        items: The items asked.
        n: How many students.
        seed: Seeds everything (a population with another seed is held out).
        texts: The texts to draw from (default: every text of ``kg_texts``).
        explain_rate: P(a text is read after an item's first answer).
        profiles: The profiles students are drawn from (``new_learner``).
        share: P(a student starts with each misconception) (``new_learner``).
    """
    reader = ReadingModel(kg)
    pool = list(texts) if texts is not None else sorted(kg_texts(kg).values())
    out = []
    for i in range(n):
        rng = random.Random(f"population:{seed}:{i}")
        student = TaughtStudent(new_learner(items, rng, profiles, share), [])
        order = sorted(items)
        rng.shuffle(order)
        for item_id in order:
            _answer(student, items[item_id])
            if rng.random() < explain_rate:
                text = rng.choice(pool)
                student.learner.study(reader.read(text))
                student.history.append(Told(text))
                _answer(student, items[item_id])
        for item_id in sorted(items):
            _answer(student, items[item_id])
        out.append(student)
    return out


def replay_predictions(
    model: EstimatingMentalModel, history: History
) -> tuple[list[float], list[bool]]:
    """Walk a history with the mental model, predicting each answer before seeing it.

    Returns:
        The predicted P̂(correct) before each answer, and whether it was correct.
    """
    predictions, outcomes = [], []
    for event in history:
        if isinstance(event, Told):
            model.observe_explanation(event.text)
            continue
        item = model.items[event.item]
        predictions.append(model.predict(event.item))
        outcomes.append(same_answer(event.answer, item.answer))
        model.observe(event.item, event.answer, event.confidence)
    return predictions, outcomes

"""Simulated personas: agents driven by simulated minds, over a knowledge graph.

``SimulatedStudent`` answers ``Question`` messages about graph items with the simulated
learner. It reads the *text* of each ``Explanation`` and ``Hint`` through a
``ReadingModel`` of its graph and studies what the text does; after a ``Hint`` about an
item it tries the item again. The ``targets`` an explanation carries are provenance for
people reading a transcript: the student never looks at them.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from knowledge_graph import GraphStore
from personas.minds import LearnerItem, LearnerProfile, ReadingModel, SimulatedLearner
from personas.state import run_state
from protocols import (
    Answer,
    Envelope,
    Explanation,
    Hint,
    LessonStep,
    Mastery,
    Message,
    Question,
    UserError,
)

__all__ = ["SimulatedStudent", "learner_items"]


def learner_items(store: GraphStore) -> dict[str, LearnerItem]:
    """Every Item node that REQUIRES a skill, with the wrong answers its EXHIBITS edges
    name, keyed by item id. An item that requires several skills is answered by the one
    whose edge is marked ``primary: true`` (the data-set graphs of ``agents.eval`` mark
    it), else by the first."""
    items = {}
    for node in store.match("Item"):
        edges = store.edges(node.id, type="REQUIRES")
        skills = [e.target for e in edges if e.properties.get("primary")] + [
            e.target for e in edges
        ]
        if not skills or "answer" not in node.properties:
            continue
        wrong = {
            e.target: str(e.properties["wrong_answer"])
            for e in store.edges(node.id, type="EXHIBITS")
            if "wrong_answer" in e.properties
        }
        items[node.id] = LearnerItem(node.id, skills[0], str(node.properties["answer"]), wrong)
    if not items:
        raise UserError("the graph has no Item node with an answer that REQUIRES a skill")
    return items


class SimulatedStudent:
    """A student agent (a simulation, not an LLM) answering items of a knowledge graph.

    What it knows changes as it studies, so each run gets its own learner
    (``new_state()``), starting from the same knowledge and random stream. It can pick up
    any misconception its items exhibit, if a text implants it.

    Args:
        name: The agent name.
        kg: The curriculum graph: the items it can be asked about (``learner_items(kg)``)
            and what it reads explanations against.
        profile: Its learner parameters.
        seed: Seeds its randomness.
        misconceptions: Misconceptions it starts with (ids), each on the skill of the items
            that exhibit it.
        reading: How it reads explanation and hint texts (by default
            ``ReadingModel(kg)``); pass one model to many students to share its cache.
        items: Its items (by default ``learner_items(kg)``); pass them to share them
            among many students.
        report_truth: At the start of a quiz (a ``LessonStep`` with step ``quiz``), report
            its true P(correct) on each quiz item's skill as a ``Mastery`` message with
            source ``simulated_truth``, to the observer (a simulation's truth, for
            comparing a teacher's estimate with it).
    """

    def __init__(
        self,
        name: str,
        kg: GraphStore,
        profile: LearnerProfile,
        *,
        seed: int = 0,
        misconceptions: Sequence[str] = (),
        reading: ReadingModel | None = None,
        items: Mapping[str, LearnerItem] | None = None,
        report_truth: bool = False,
    ) -> None:
        self.name = name
        self.items = dict(items) if items is not None else learner_items(kg)
        skill_of = {m: i.skill for i in self.items.values() for m in i.misconception_answers}
        unknown = [m for m in misconceptions if m not in skill_of]
        if unknown:
            raise UserError(
                f"no item exhibits misconception(s) {unknown}; known: {', '.join(sorted(skill_of))}"
            )
        self.profile = profile
        self.seed = seed
        self.misconceptions = {m: skill_of[m] for m in misconceptions}
        self.susceptible = skill_of
        self.reading = reading if reading is not None else ReadingModel(kg)
        self.report_truth = report_truth
        self.emits: tuple[type[Envelope], ...] = (Answer, Mastery) if report_truth else (Answer,)

    def new_state(self) -> SimulatedLearner:
        """The learner for one run, as it is before any lesson."""
        skills = sorted({i.skill for i in self.items.values()})
        return SimulatedLearner(
            skills,
            self.profile,
            random.Random(f"{self.seed}:{self.name}"),
            self.misconceptions,
            susceptible=self.susceptible,
        )

    def _study(self, learner: SimulatedLearner, text: str) -> None:
        learner.study(self.reading.read(text))

    def _item(self, item_id: str | None) -> LearnerItem:
        if item_id not in self.items:
            raise UserError(
                f"{self.name} was asked about item {item_id!r}, which is not in "
                "its knowledge graph; set item_id to an Item node id"
            )
        return self.items[item_id]

    def _truth(self, learner: SimulatedLearner, step: int, items: Sequence[str]) -> Mastery:
        """Its true P(correct) per skill of ``items`` (the first item on each skill)."""
        values: dict[str, float] = {}
        for item_id in items:
            item = self.items.get(item_id)
            if item is not None and item.skill not in values:
                values[item.skill] = round(learner.p_correct(item), 3)
        return Mastery(
            to="user", student=self.name, source="simulated_truth", values=values, step=step
        )

    async def handle(self, message: Message, ctx: object) -> Sequence[Envelope]:
        learner = run_state(ctx, SimulatedLearner)
        match message:
            case Question(item_id=item_id):
                response = learner.answer(self._item(item_id))
                return [
                    Answer(
                        to=message.sender,
                        text=response.text,
                        item_id=item_id,
                        confidence=response.confidence,
                    )
                ]
            case Explanation(text=text):
                self._study(learner, text)
                return []
            case LessonStep(step="quiz", index=index, items=items) if self.report_truth:
                return [self._truth(learner, index, items)]
            case Hint(text=text, item_id=item_id) if item_id:
                item = self._item(item_id)  # read the hint, then try the item again
                self._study(learner, text)
                response = learner.answer(item)
                return [Answer(text=response.text, item_id=item_id, confidence=response.confidence)]
            case _:
                return []

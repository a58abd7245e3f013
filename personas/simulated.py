"""Simulated personas: agents driven by simulated minds, over a knowledge graph.

``SimulatedStudent`` answers ``Question`` messages about graph items with the simulated
learner, studies ``Explanation`` messages, and after a ``Hint`` about an item studies it at
half strength and tries the item again. How an explanation is appraised follows its
``targets``: ``skill:…`` ids are taught, ``misconception:…`` ids are remedied, and
``promotes:misconception:…`` marks a misleading explanation that promotes that
misconception (the convention a simulated misaligned teacher uses).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from knowledge_graph import GraphStore
from personas.minds import Appraisal, LearnerItem, LearnerProfile, SimulatedLearner
from personas.state import run_state
from protocols import Answer, Envelope, Explanation, Hint, Message, Question, UserError

__all__ = ["SimulatedStudent", "appraise", "learner_items"]

PROMOTES = "promotes:"


def learner_items(store: GraphStore) -> dict[str, LearnerItem]:
    """Every Item node that REQUIRES a skill, with the wrong answers its EXHIBITS edges
    name, keyed by item id."""
    items = {}
    for node in store.match("Item"):
        skills = [e.target for e in store.edges(node.id, type="REQUIRES")]
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


def appraise(explanation: Explanation, quality: float = 1.0) -> Appraisal:
    """The effect of an explanation on a simulated learner, read from its targets."""
    promoted = frozenset(
        t.removeprefix(PROMOTES) for t in explanation.targets if t.startswith(PROMOTES)
    )
    skills = frozenset(t for t in explanation.targets if t.startswith("skill:"))
    remedies = frozenset(t for t in explanation.targets if t.startswith("misconception:"))
    return Appraisal(
        skills=skills,
        remedies=remedies,
        implants=promoted,
        quality=quality,
        misleading=bool(promoted),
    )


class SimulatedStudent:
    """A student agent (a simulation, not an LLM) answering items of a knowledge graph.

    What it knows changes as it studies, so each run gets its own learner
    (``new_state()``), starting from the same knowledge and random stream.

    Args:
        name: The agent name.
        items: The items it can be asked about (``learner_items(store)``).
        profile: Its learner parameters.
        seed: Seeds its randomness.
        misconceptions: Misconceptions it starts with (ids), each on the skill of the items
            that exhibit it.
    """

    def __init__(
        self,
        name: str,
        items: Mapping[str, LearnerItem],
        profile: LearnerProfile,
        *,
        seed: int = 0,
        misconceptions: Sequence[str] = (),
    ) -> None:
        self.name = name
        self.items = dict(items)
        skill_of = {m: i.skill for i in self.items.values() for m in i.misconception_answers}
        unknown = [m for m in misconceptions if m not in skill_of]
        if unknown:
            raise UserError(
                f"no item exhibits misconception(s) {unknown}; known: {', '.join(sorted(skill_of))}"
            )
        self.profile = profile
        self.seed = seed
        self.misconceptions = {m: skill_of[m] for m in misconceptions}
        self.emits = (Answer,)

    def new_state(self) -> SimulatedLearner:
        """The learner for one run, as it is before any lesson."""
        skills = sorted({i.skill for i in self.items.values()})
        return SimulatedLearner(
            skills, self.profile, random.Random(f"{self.seed}:{self.name}"), self.misconceptions
        )

    def _item(self, item_id: str | None) -> LearnerItem:
        if item_id not in self.items:
            raise UserError(
                f"{self.name} was asked about item {item_id!r}, which is not in "
                "its knowledge graph; set item_id to an Item node id"
            )
        return self.items[item_id]

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
            case Explanation():
                learner.study(appraise(message))
                return []
            case Hint(item_id=item_id) if item_id:
                # A hint teaches the item's skill at half strength; then the student retries.
                item = self._item(item_id)
                learner.study(Appraisal(skills=frozenset({item.skill}), quality=0.5))
                response = learner.answer(item)
                return [Answer(text=response.text, item_id=item_id, confidence=response.confidence)]
            case _:
                return []

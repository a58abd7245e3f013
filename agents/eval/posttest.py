"""One student's run of the explanation-effect experiment: the lesson and post-test script,
the graph (a teacher ``Persona`` ⇄ a ``SimulatedStudent``, no reviewer) and the scoring of its
transcript. See ``agents.eval.effects``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from agents.budget import Budget
from agents.demo.lesson import DEMO_MISCONCEPTIONS, Lesson, LessonPlace
from agents.demo.summary import is_right
from agents.graph import AgentGraph
from knowledge_graph import GraphStore
from personas import (
    PROFILES,
    LearnerItem,
    Persona,
    ReadingModel,
    SimulatedStudent,
    SimulatedTeacherMind,
    ToolRegistry,
    builtin_persona,
    calculator_tool,
    run_state,
)
from personas.moves import bridge_tool, moves_tool
from personas.teacher import Explain
from protocols import (
    Answer,
    Envelope,
    Explanation,
    Hint,
    Message,
    Question,
    Stop,
    TaskResult,
    UserError,
)

__all__ = [
    "BUDGET",
    "HELD_OUT",
    "Outcome",
    "PostTestLesson",
    "effect_graph",
    "effect_teacher",
    "outcome",
]

HELD_OUT = ("item:frac-add-2", "item:eq-2")
"""Items only the post-test asks: each shares its skill with a taught item before it."""
BUDGET = Budget(turns=400)
"""A run's turn budget: far above a lesson's (about 90 messages), so it never cuts one."""


class PostTestLesson(Lesson):
    """The lesson over the taught items, then a post-test of every item put straight to
    ``student``; it stops after the last post-test answer.

    Args:
        name: The agent name.
        kg: The curriculum.
        teacher: Who teaches the lesson.
        student: Who takes the post-test.
        held_out: Items left out of the lesson (asked only in the post-test).
    """

    def __init__(
        self,
        name: str,
        kg: GraphStore,
        teacher: str = "teacher",
        student: str = "student",
        held_out: Sequence[str] = HELD_OUT,
    ) -> None:
        super().__init__(name, kg, teacher)
        missing = [i for i in held_out if i not in self.items]
        if missing:
            raise UserError(f"held-out item(s) {missing} are not Item nodes of the curriculum")
        self.student = student
        self.tested = list(self.items)
        self.items = [i for i in self.items if i not in held_out]

    def _next(self, place: LessonPlace) -> list[Envelope]:
        if place.next < len(self.items):
            place.next += 1
            return [self._ask(self.items[place.next - 1])]
        k = place.next - len(self.items)
        if k >= len(self.tested):
            return [Stop(detail=f"post-test finished: {len(self.tested)} items")]
        place.next += 1
        item = self.tested[k]
        return [Question(to=self.student, text=self.texts[item], item_id=item)]

    async def handle(self, message: Message, ctx: object) -> Sequence[Envelope]:
        place = run_state(ctx, LessonPlace)
        if isinstance(message, Answer) and place.next > len(self.items):
            return self._next(place)  # a post-test answer: the next post-test item
        return await super().handle(message, ctx)


def effect_teacher(kg: GraphStore, explain: Explain) -> Persona:
    """The teacher persona of one condition. It keeps no state of its own between runs
    (each run's memory is its ``new_state()``), so one serves every student."""
    return Persona(
        builtin_persona("teacher"),
        SimulatedTeacherMind(kg, explain=explain),
        tools=ToolRegistry([bridge_tool(), moves_tool(), calculator_tool()]),
        kinds=["question", "hint", "explanation", "task_result"],
    )


def effect_graph(
    kg: GraphStore,
    teacher: Persona,
    lesson: PostTestLesson,
    profile: str,
    seed: int,
    reading: ReadingModel,
    items: Mapping[str, LearnerItem],
) -> AgentGraph:
    """One student's run: post-test lesson → teacher ⇄ student (no reviewer: what is
    measured is the text's effect, not a gate on it)."""
    student = SimulatedStudent(
        "student",
        kg,
        PROFILES[profile],
        seed=seed,
        misconceptions=DEMO_MISCONCEPTIONS[profile],
        reading=reading,
        items=items,
    )
    return (
        AgentGraph()
        .add(teacher, student, lesson)
        .edge(lesson, teacher, kinds=[Question])
        .edge(lesson, student, kinds=[Question])
        .edge(teacher, student, kinds=[Question, Explanation, Hint])
        .edge(student, teacher, kinds=[Answer])
        .edge(student, lesson, kinds=[Answer])
        .edge(teacher, lesson, kinds=[Explanation, TaskResult])
    )


@dataclass(frozen=True)
class Outcome:
    """One student's results in one condition (accuracies in [0, 1]; ``reask`` is None
    when nothing was explained)."""

    condition: Explain
    seed: int
    profile: str
    held_out: float
    taught: float
    reask: float | None


def outcome(
    kg: GraphStore, messages: Sequence[Message], condition: Explain, seed: int, profile: str
) -> Outcome:
    """Score one run's transcript."""
    post: dict[str, bool] = {}
    explained: set[str] = set()
    reask: dict[str, bool] = {}
    for m in messages:
        if isinstance(m, Explanation | Hint) and m.sender == "teacher" and m.item_id:
            explained.add(m.item_id)
        elif isinstance(m, Answer) and m.sender == "student" and m.item_id:
            if m.recipients == ("lesson",):
                post[m.item_id] = is_right(kg, m)
            elif m.item_id in explained and m.item_id not in reask:
                reask[m.item_id] = is_right(kg, m)
    held = [post[i] for i in HELD_OUT]
    taught = [v for i, v in post.items() if i not in HELD_OUT]
    if len(post) != len(kg.match("Item")):
        raise UserError(f"run of seed {seed} ({condition}) did not finish its post-test")
    return Outcome(
        condition,
        seed,
        profile,
        held_out=float(np.mean(held)),
        taught=float(np.mean(taught)),
        reask=float(np.mean(list(reask.values()))) if reask else None,
    )

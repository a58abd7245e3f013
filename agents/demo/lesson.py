"""The offline demo: a teacher persona tutors *simulated* students through the sample curriculum.

Nothing here calls a model: every piece is the library's own, composed as a user would
compose it (``docs/personas.md`` shows the same composition):

- the **teacher** is a ``Persona`` with the built-in teacher spec, ``SimulatedTeacherMind``
  (rules over the knowledge graph: diagnosis, Bridge decision, MathDial move) and the
  ``bridge_decision``, ``teacher_moves`` and ``calculator`` tools; each turn it thinks
  (a ``Thought``), plans (a ``Plan``) and replies;
- a ``RubricReviewer`` checks each explanation and hint before the student sees it;
- the **student** is a ``SimulatedStudent`` (Bayesian knowledge tracing with misconceptions);
- the **lesson** (``Lesson``) is the script: it asks the teacher to put each item of the
  curriculum to the student, in order, and once more after the teacher has explained it.
  It judges no answer; the teacher reports an item done with a ``TaskResult``.

Results describe the simulation, never LLMs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from agents.classroom.config import PROFILE_MISCONCEPTIONS
from agents.graph import AgentGraph
from knowledge_graph import GraphStore, Node
from knowledge_graph.builders import sample_curriculum
from personas import (
    PROFILES,
    Persona,
    RubricReviewer,
    SimulatedStudent,
    SimulatedTeacherMind,
    ToolRegistry,
    builtin_persona,
    calculator_tool,
    run_state,
)
from personas.moves import bridge_tool, moves_tool
from protocols import (
    Answer,
    Envelope,
    Explanation,
    Hint,
    Message,
    Question,
    Review,
    Stop,
    TaskAssignment,
    TaskResult,
    UserError,
)

__all__ = [
    "DEMO_MISCONCEPTIONS",
    "Lesson",
    "LessonPlace",
    "build_lesson_graph",
    "lesson_items",
    "make_demo_agent",
    "make_demo_lesson",
    "make_demo_reviewer",
    "make_demo_teacher",
    "start_message",
]

DEMO_MISCONCEPTIONS: dict[str, tuple[str, ...]] = PROFILE_MISCONCEPTIONS
"""The misconceptions each demo student starts with."""


def _items(kg: GraphStore) -> list[Node]:
    return sorted(kg.match("Item"), key=lambda n: n.properties.get("position", 0))


def lesson_items(kg: GraphStore) -> list[str]:
    """The ids of the graph's ``Item`` nodes in lesson order (their ``position``)."""
    return [item.id for item in _items(kg)]


@dataclass
class LessonPlace:
    """Where one run's lesson stands: the next item, and the items already asked again."""

    next: int = 0
    asked_again: set[str] = field(default_factory=set)


class Lesson:
    """The lesson script: puts each item to ``teacher`` (a ``Question`` naming it) in order.

    After the teacher's ``Explanation`` of an item it puts the item once more; after a
    second explanation, or the teacher's ``TaskResult`` (the item is done), it moves on,
    and after the last item it stops the run. It never judges an answer itself. Each run's
    place in the lesson is a ``LessonPlace`` (``new_state()``).

    It hears the teacher's explanation as the teacher sends it, before the reviewer has
    passed it: were one rejected, the item would still be put again.

    Args:
        name: The agent name.
        kg: The curriculum: its ``Item`` nodes, in ``position`` order.
        teacher: Who puts the items to the student.
    """

    def __init__(self, name: str, kg: GraphStore, teacher: str = "teacher") -> None:
        self.name = name
        self.teacher = teacher
        self.items = lesson_items(kg)
        self.texts = {n.id: str(n.properties["text"]) for n in _items(kg)}
        self.emits = (Question, Stop)

    def new_state(self) -> LessonPlace:
        return LessonPlace()

    def _ask(self, item: str) -> Question:
        return Question(to=self.teacher, text=self.texts[item], item_id=item)

    def _next(self, place: LessonPlace) -> list[Envelope]:
        if place.next >= len(self.items):
            return [Stop(detail=f"lesson finished: {len(self.items)} items")]
        place.next += 1
        return [self._ask(self.items[place.next - 1])]

    async def handle(self, message: Message, ctx: object) -> Sequence[Envelope]:
        place = run_state(ctx, LessonPlace)
        match message:
            case TaskAssignment() | TaskResult():
                return self._next(place)
            case Explanation(item_id=item) if item in self.texts and item not in place.asked_again:
                place.asked_again.add(item)
                return [self._ask(item)]
            case Explanation():
                return self._next(place)
            case _:
                return []


def make_demo_agent(name: str, profile: str = "novice", seed: int = 0) -> SimulatedStudent:
    """A simulated student on the sample curriculum, with its profile's misconceptions.
    Like the other ``make_demo_*`` factories, usable from graph YAML files."""
    if profile not in PROFILES:
        raise UserError(f"unknown profile {profile!r}; choose from {', '.join(PROFILES)}")
    return SimulatedStudent(
        name,
        sample_curriculum(),
        PROFILES[profile],
        seed=seed,
        misconceptions=DEMO_MISCONCEPTIONS.get(profile, ()),
    )


def make_demo_teacher(name: str = "teacher") -> Persona:
    """The teacher: the built-in teacher persona on its simulated mind, with the tools its
    mind plans with. It reports a finished item to the lesson (``task_result``) instead of
    stopping the run."""
    kg = sample_curriculum()
    spec = builtin_persona("teacher")
    return Persona(
        spec if name == spec.name else spec.model_copy(update={"name": name}),
        SimulatedTeacherMind(kg),
        tools=ToolRegistry([bridge_tool(), moves_tool(), calculator_tool()]),
        kinds=["question", "hint", "explanation", "task_result"],
    )


def make_demo_reviewer(name: str = "reviewer", student: str = "student") -> RubricReviewer:
    """The rubric reviewer gating what reaches ``student``."""
    return RubricReviewer(name, student=student, kg=sample_curriculum())


def make_demo_lesson(name: str = "lesson", teacher: str = "teacher") -> Lesson:
    """The lesson script over the sample curriculum."""
    return Lesson(name, sample_curriculum(), teacher=teacher)


def build_lesson_graph(profile: str = "novice", seed: int = 0) -> AgentGraph:
    """The demo graph: lesson → teacher ⇄ student, the reviewer gating the teacher's
    explanations and hints. Rebuildable from its ``source`` (``lyceum runs replay``)."""
    teacher = make_demo_teacher("teacher")
    reviewer = make_demo_reviewer("reviewer", student="student")
    student = make_demo_agent("student", profile, seed)
    lesson = make_demo_lesson("lesson", teacher="teacher")
    graph = (
        AgentGraph()
        .add(teacher, reviewer, student, lesson)  # the order replies are committed in a step
        .edge(lesson, teacher, kinds=[Question])
        .edge(teacher, student, kinds=[Question])
        .edge(student, teacher, kinds=[Answer])
        .edge(teacher, reviewer, kinds=[Explanation, Hint])
        .edge(reviewer, student, kinds=[Explanation, Hint])
        .edge(reviewer, teacher, kinds=[Review])
        .edge(teacher, lesson, kinds=[Explanation, TaskResult])
    )
    kwargs: dict[str, Any] = {"profile": profile, "seed": seed}
    graph.source = {"factory": "agents.demo.lesson:build_lesson_graph", "kwargs": kwargs}
    return graph


def start_message() -> TaskAssignment:
    return TaskAssignment(to="lesson", task="teach the sample curriculum")

"""The offline demo: a teacher tutors *simulated* students through the sample curriculum.

Nothing here calls an LLM. The curriculum is the knowledge graph shipped with the package
(``knowledge_graph.builders.sample_curriculum``); the students are
``personas.SimulatedStudent`` (Bayesian knowledge tracing with misconceptions); the teacher
asks each item, diagnoses a wrong answer against the misconceptions the graph links to the
item, and explains with the explanation node that remedies it. The explanation text comes
from a ``FunctionModel`` that reads the graph, through the same budgeted, recorded
model-call path an LLM would use. Results describe the simulation, never LLMs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from agents.agent import RunContext
from agents.graph import AgentGraph
from agents.models import FunctionModel, ModelClient, ModelRequest
from knowledge_graph import GraphStore
from knowledge_graph.builders import sample_curriculum
from personas import PROFILES
from personas.simulated import SimulatedStudent, learner_items
from personas.state import run_state
from protocols import (
    Answer,
    Envelope,
    Explanation,
    Message,
    Question,
    Stop,
    TaskAssignment,
    UserError,
)

__all__ = [
    "DEMO_MISCONCEPTIONS",
    "DemoTeacher",
    "LessonProgress",
    "build_lesson_graph",
    "graph_explainer",
    "make_demo_agent",
    "make_demo_teacher",
    "start_message",
]

DEMO_MISCONCEPTIONS: dict[str, tuple[str, ...]] = {
    "novice": (
        "misconception:add_across",
        "misconception:same_operation",
        "misconception:divide_first",
    ),
    "average": ("misconception:subtract_across",),
    "overconfident": ("misconception:add_across", "misconception:cross_multiply"),
    "strong": (),
}
"""The misconceptions each demo student starts with."""


def same_value(a: str, b: str) -> bool:
    """Whether two answers denote the same number (fractions compared exactly)."""
    from fractions import Fraction

    try:
        return Fraction(a.strip()) == Fraction(b.strip())
    except (ValueError, ZeroDivisionError):
        return a.strip().lower() == b.strip().lower()


def graph_explainer(kg: GraphStore) -> FunctionModel:
    """A ``FunctionModel`` (no LLM) that writes an explanation from the graph: it reads the
    ``item:``, ``student answer:`` and ``remedy:`` lines of the prompt, as an LLM would."""

    def explain(request: ModelRequest) -> str:
        prompt = request.messages[-1].content
        item = re.search(r"^item: (\S+)$", prompt, re.M)
        wrong = re.search(r"^student answer: (.+)$", prompt, re.M)
        remedy = re.search(r"^remedy: (\S+)$", prompt, re.M)
        skill = re.search(r"^skill: (\S+)$", prompt, re.M)
        mistake = re.search(r"^misconception: (\S+)$", prompt, re.M)
        node = kg.node(item.group(1)) if item else None
        if node is None:
            return "Let's look at this step by step."
        parts = []
        if mistake and wrong:
            described = kg.node(mistake.group(1))
            if described is not None:
                parts.append(
                    f"{wrong.group(1)} is the answer you get if one "
                    f"{described.properties['description'][0].lower()}"
                    f"{described.properties['description'][1:]}"
                )
        text = kg.node(remedy.group(1)) if remedy else None
        how = kg.node(skill.group(1)) if skill else None
        if text is not None:
            parts.append(str(text.properties["text"]))
        elif how is not None:
            parts.append(f"{how.properties['name']}: {how.properties['description']}")
        return " ".join(parts) or f"Check each step of '{node.properties['text']}' again."

    return FunctionModel(explain, model="graph-explainer")


@dataclass
class LessonProgress:
    """Where one run's lesson stands: the next item, the items re-asked, and per item
    whether the student was right at the first try and at the last."""

    next: int = 0
    retried: set[str] = field(default_factory=set)
    first_try: dict[str, bool] = field(default_factory=dict)
    final: dict[str, bool] = field(default_factory=dict)


class DemoTeacher:
    """Asks each item in order; on a wrong answer diagnoses, explains and re-asks once.
    Each run's place in the lesson is a ``LessonProgress`` (``new_state()``)."""

    def __init__(self, name: str, kg: GraphStore, explainer: ModelClient, student: str) -> None:
        self.name = name
        self.kg = kg
        self.explainer = explainer
        self.student = student
        self.emits = (Question, Explanation, Stop)
        items = kg.match("Item")
        self.items = [i.id for i in sorted(items, key=lambda n: n.properties.get("position", 0))]

    def new_state(self) -> LessonProgress:
        return LessonProgress()

    def progress(self, messages: Sequence[Message]) -> LessonProgress:
        """The marks of a finished run, from its transcript (the student's answers)."""
        marks = LessonProgress()
        for message in messages:
            if isinstance(message, Answer) and message.item_id and self.student == message.sender:
                self._mark(marks, message.item_id, message.text)
        return marks

    def _mark(self, progress: LessonProgress, item_id: str, text: str) -> bool:
        item = self.kg.node(item_id)
        if item is None:
            raise UserError(f"the student answered unknown item {item_id!r}")
        right = same_value(text, str(item.properties["answer"]))
        progress.first_try.setdefault(item_id, right)
        progress.final[item_id] = right
        return right

    def _ask(self, progress: LessonProgress) -> list[Envelope]:
        if progress.next >= len(self.items):
            n = len(self.items)
            first, final = sum(progress.first_try.values()), sum(progress.final.values())
            return [
                Stop(
                    reason="completed",
                    detail=(
                        f"lesson finished: {first}/{n} right at first try, "
                        f"{final}/{n} right in the end"
                    ),
                )
            ]
        item = self.kg.node(self.items[progress.next])
        progress.next += 1
        assert item is not None
        return [Question(to=self.student, text=str(item.properties["text"]), item_id=item.id)]

    async def handle(self, message: Message, ctx: RunContext) -> Sequence[Envelope]:
        progress = run_state(ctx, LessonProgress)
        match message:
            case TaskAssignment():
                return self._ask(progress)
            case Answer(item_id=item_id, text=text) if item_id:
                right = self._mark(progress, item_id, text)
                if right or item_id in progress.retried:
                    return self._ask(progress)
                progress.retried.add(item_id)
                item = self.kg.node(item_id)
                assert item is not None
                return [
                    await self._explain(ctx, item_id, text),
                    Question(
                        to=self.student,
                        text=f"Try again: {item.properties['text']}",
                        item_id=item_id,
                    ),
                ]
            case _:
                return []

    async def _explain(self, ctx: RunContext, item_id: str, wrong: str) -> Explanation:
        skill = self.kg.edges(item_id, type="REQUIRES")[0].target
        exhibits = [
            e
            for e in self.kg.edges(item_id, type="EXHIBITS")
            if same_value(wrong, str(e.properties.get("wrong_answer", "")))
        ]
        lines = [f"item: {item_id}", f"skill: {skill}", f"student answer: {wrong}"]
        targets: list[str] = [skill]
        citations: list[str] = [item_id]
        if exhibits:
            misconception = exhibits[0].target
            remedies = self.kg.edges(misconception, type="REMEDIATES", direction="in")
            lines.append(f"misconception: {misconception}")
            targets.append(misconception)
            citations.append(misconception)
            if remedies:
                lines.append(f"remedy: {remedies[0].source}")
                citations.append(remedies[0].source)
        prompt = "Explain the mistake briefly and kindly.\n" + "\n".join(lines)
        reply = await ctx.complete(self.explainer, ModelRequest.of(prompt, max_tokens=160))
        return Explanation(
            to=self.student,
            text=reply.text,
            item_id=item_id,
            targets=tuple(targets),
            citations=tuple(citations),
        )


def make_demo_agent(name: str, profile: str = "novice", seed: int = 0) -> SimulatedStudent:
    """A factory for graph YAML files: a simulated student on the sample curriculum."""
    if profile not in PROFILES:
        raise UserError(f"unknown profile {profile!r}; choose from {', '.join(PROFILES)}")
    return SimulatedStudent(
        name,
        learner_items(sample_curriculum()),
        PROFILES[profile],
        seed=seed,
        misconceptions=DEMO_MISCONCEPTIONS.get(profile, ()),
    )


def make_demo_teacher(name: str, student: str = "student") -> DemoTeacher:
    """A factory for graph YAML files: the demo teacher on the sample curriculum."""
    kg = sample_curriculum()
    return DemoTeacher(name, kg, graph_explainer(kg), student=student)


def build_lesson_graph(profile: str = "novice", seed: int = 0) -> AgentGraph:
    """The demo graph: teacher ⇄ simulated student. Rebuildable from its ``source``."""
    student = make_demo_agent("student", profile, seed)
    teacher = make_demo_teacher("teacher", student="student")
    graph = (
        AgentGraph()
        .edge(teacher, student, kinds=[Question, Explanation])
        .edge(student, teacher, kinds=[Answer])
    )
    kwargs: dict[str, Any] = {"profile": profile, "seed": seed}
    graph.source = {"factory": "agents.demo.lesson:build_lesson_graph", "kwargs": kwargs}
    return graph


def start_message() -> TaskAssignment:
    return TaskAssignment(to="teacher", task="teach the sample curriculum")

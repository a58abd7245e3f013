"""The offline demo: a teacher tutors a *simulated* student through the sample lesson.

Nothing here calls an LLM. The student is a small Bayesian-knowledge-tracing learner with one
misconception per item (the full simulated minds arrive with the personas package), and the
teacher's explanations come from a ``FunctionModel`` that fills a template from the lesson
data, through the same budgeted, recorded model-call path an LLM would use. Results from
this demo describe the simulation, never the behaviour of LLMs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from agents.agent import RunContext
from agents.graph import AgentGraph
from agents.models import FunctionModel, ModelClient, ModelRequest
from protocols import Answer, Envelope, Explanation, Message, Question, Stop, TaskAssignment
from protocols.config import validate_yaml

__all__ = [
    "PROFILES",
    "DemoTeacher",
    "Lesson",
    "SimulatedLearner",
    "build_lesson_graph",
    "load_lesson",
    "template_explainer",
]


class Misconception(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    wrong: str
    description: str


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    skill: str
    question: str
    answer: str
    misconception: Misconception


class Lesson(BaseModel):
    """A lesson: skills (name → how to do it) and items that exercise them."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    title: str
    skills: dict[str, str]
    items: tuple[Item, ...]

    def item(self, item_id: str) -> Item:
        return next(i for i in self.items if i.id == item_id)


def load_lesson(path: str | Path | None = None) -> Lesson:
    """Load a lesson YAML file; the built-in sample lesson when ``path`` is None."""
    if path is None:
        path = Path(str(resources.files("agents.demo") / "lesson.yaml"))
    return validate_yaml(path, Lesson)


def same_value(a: str, b: str) -> bool:
    """Whether two answers denote the same number (fractions compared exactly)."""
    try:
        return Fraction(a.strip()) == Fraction(b.strip())
    except (ValueError, ZeroDivisionError):
        return a.strip().lower() == b.strip().lower()


@dataclass(frozen=True)
class Profile:
    """Parameters of the simulated learner (BKT: prior, learn, slip, guess)."""

    prior: float
    learn: float
    slip: float
    guess: float
    overconfidence: float


PROFILES: dict[str, Profile] = {
    "novice": Profile(prior=0.2, learn=0.5, slip=0.1, guess=0.1, overconfidence=0.0),
    "overconfident": Profile(prior=0.4, learn=0.3, slip=0.15, guess=0.1, overconfidence=0.35),
    "strong": Profile(prior=0.8, learn=0.6, slip=0.05, guess=0.2, overconfidence=0.05),
}


class SimulatedLearner:
    """A simulated student (not an LLM). Each skill is known with probability p (BKT).

    P(correct) = p·(1 − slip) + (1 − p)·guess; a wrong answer is the item's misconception
    answer. An explanation that targets the item's skill applies the BKT learning step
    p ← p + (1 − p)·learn. Reported confidence is P(correct) plus the profile's
    overconfidence plus noise, clipped to [0, 1].
    """

    def __init__(self, name: str, lesson: Lesson, profile: str = "novice") -> None:
        self.name = name
        self.lesson = lesson
        self.profile = PROFILES[profile]
        self.mastery = {skill: self.profile.prior for skill in lesson.skills}
        self.emits = (Answer,)

    async def handle(self, message: Message, ctx: RunContext) -> Sequence[Envelope]:
        match message:
            case Explanation(item_id=item_id, targets=targets) if item_id:
                skill = self.lesson.item(item_id).skill
                if skill in targets:
                    p = self.mastery[skill]
                    self.mastery[skill] = p + (1 - p) * self.profile.learn
                return []
            case Question(item_id=item_id) if item_id:
                item = self.lesson.item(item_id)
                prof = self.profile
                p = self.mastery[item.skill]
                p_correct = p * (1 - prof.slip) + (1 - p) * prof.guess
                correct = ctx.rng.random() < p_correct
                noise = ctx.rng.gauss(0, 0.05)
                confidence = min(1.0, max(0.0, p_correct + prof.overconfidence + noise))
                text = item.answer if correct else item.misconception.wrong
                return [
                    Answer(
                        to=message.sender,
                        text=text,
                        item_id=item_id,
                        confidence=round(confidence, 2),
                    )
                ]
            case _:
                return []


def template_explainer(lesson: Lesson) -> FunctionModel:
    """A ``FunctionModel`` that writes an explanation from the lesson data (no LLM).

    It reads ``item:`` and ``diagnosis:`` lines from the prompt, as an LLM would read the
    same prompt, and fills a fixed template."""

    def explain(request: ModelRequest) -> str:
        prompt = request.messages[-1].content
        item_id = re.search(r"^item: (\S+)$", prompt, re.M)
        wrong = re.search(r"^student answer: (.+)$", prompt, re.M)
        diagnosis = re.search(r"^diagnosis: (.+)$", prompt, re.M)
        if item_id is None:
            return "Let's look at this step by step."
        item = lesson.item(item_id.group(1))
        how = lesson.skills[item.skill]
        lead = ""
        if diagnosis and wrong:
            lead = f"{wrong.group(1)} is what you get when one {diagnosis.group(1)}. "
        return f"{lead}{how} For '{item.question}' that gives {item.answer}."

    return FunctionModel(explain, model="template-explainer")


class DemoTeacher:
    """Asks each item; on a wrong answer diagnoses the misconception, explains, re-asks once."""

    def __init__(self, name: str, lesson: Lesson, explainer: ModelClient, student: str) -> None:
        self.name = name
        self.lesson = lesson
        self.explainer = explainer
        self.student = student
        self.emits = (Question, Explanation, Stop)
        self._next = 0
        self._retried: set[str] = set()
        self.first_try: dict[str, bool] = {}
        self.final: dict[str, bool] = {}

    def _ask(self) -> list[Envelope]:
        if self._next >= len(self.lesson.items):
            n = len(self.lesson.items)
            return [
                Stop(
                    reason="completed",
                    detail=(
                        f"lesson finished: {sum(self.first_try.values())}/{n} right at first try, "
                        f"{sum(self.final.values())}/{n} right in the end"
                    ),
                )
            ]
        item = self.lesson.items[self._next]
        self._next += 1
        return [Question(to=self.student, text=item.question, item_id=item.id)]

    async def handle(self, message: Message, ctx: RunContext) -> Sequence[Envelope]:
        match message:
            case TaskAssignment():
                return self._ask()
            case Answer(item_id=item_id, text=text) if item_id:
                item = self.lesson.item(item_id)
                right = same_value(text, item.answer)
                self.first_try.setdefault(item_id, right)
                self.final[item_id] = right
                if right or item_id in self._retried:
                    return self._ask()
                self._retried.add(item_id)
                return [
                    await self._explain(ctx, item, text),
                    Question(to=self.student, text=f"Try again: {item.question}", item_id=item_id),
                ]
            case _:
                return []

    async def _explain(self, ctx: RunContext, item: Item, wrong: str) -> Explanation:
        diagnosed = same_value(wrong, item.misconception.wrong)
        lines = [f"item: {item.id}", f"question: {item.question}", f"student answer: {wrong}"]
        if diagnosed:
            lines.append(f"diagnosis: {item.misconception.description}")
        prompt = "Explain the mistake briefly and kindly.\n" + "\n".join(lines)
        reply = await ctx.complete(self.explainer, ModelRequest.of(prompt, max_tokens=120))
        targets = (item.skill, item.misconception.id) if diagnosed else (item.skill,)
        return Explanation(to=self.student, text=reply.text, item_id=item.id, targets=targets)


def build_lesson_graph(profile: str = "novice", lesson: str | None = None) -> AgentGraph:
    """The demo graph: teacher ⇄ simulated student. Rebuildable from its ``source``."""
    data = load_lesson(lesson)
    student = SimulatedLearner("student", data, profile)
    teacher = DemoTeacher("teacher", data, template_explainer(data), student="student")
    graph = (
        AgentGraph()
        .edge(teacher, student, kinds=[Question, Explanation])
        .edge(student, teacher, kinds=[Answer])
    )
    kwargs: dict[str, Any] = {"profile": profile, "lesson": lesson}
    graph.source = {"factory": "agents.demo.lesson:build_lesson_graph", "kwargs": kwargs}
    return graph


def start_message() -> TaskAssignment:
    return TaskAssignment(to="teacher", task="teach the sample lesson")


def make_demo_agent(name: str, profile: str = "novice") -> SimulatedLearner:
    """A factory for graph YAML files: a simulated learner on the sample lesson."""
    return SimulatedLearner(name, load_lesson(), profile)


def make_demo_teacher(name: str, student: str = "student") -> DemoTeacher:
    """A factory for graph YAML files: the demo teacher on the sample lesson."""
    lesson = load_lesson()
    return DemoTeacher(name, lesson, template_explainer(lesson), student=student)

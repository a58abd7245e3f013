"""The classroom teacher's simulated mind (no LLM): a theory-of-mind model of every
student, and lesson moves chosen from it.

It keeps one ``EstimatingMentalModel`` per student (Saha, Hase & Bansal, 2023): a posterior
over the student's skills and misconceptions, updated from that student's answers (to its
own questions, and to the practice and quiz items the director hands it) and from the
expected effect of each explanation the class heard (read through the ``ReadingModel``). It
never sees a student's true state. What it does with the floor:

- **explain** a skill: when it believes a student holds one of the skill's misconceptions
  (P̂(active) ≥ ``holds``), the remedy of the one it believes most (the Explanation node
  that REMEDIATES it), else the skill's own explanation (its name and description).
- **ask**: it puts the step's item to the student whose answer it is least sure of
  (P̂(correct) nearest 1/2: that answer tells it the most), and after the answer affirms
  it (a ``Remark``) or explains: the remedy of the misconception the wrong answer
  exhibits, else the skill, with the answer.
- **review** practice or a quiz (the answers the director collected): it updates each
  student's model and re-explains the weakest skill (best text by Û) when the class's
  estimated P̂(correct) on it is below ``reexplain_below``, else moves on; after a quiz
  it reports its estimate of every student as ``Mastery(source="teacher_model")``.
- a classmate's **question** is answered with the best text for the current skill.
- a **rejected** explanation (the reviewer's ``Review``) is replaced once by the skill's
  plain explanation, then it moves on; a rejected text never reaches the students, so it
  is not counted as heard.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from knowledge_graph import GraphStore
from personas.lesson_texts import LessonTexts, same_value
from personas.minds import EstimatingMentalModel, LearnerItem, ReadingModel
from personas.persona import PlanOut, Reply, TurnState
from personas.prompting import ThoughtVars, ToolInfo
from personas.state import run_state
from protocols import (
    Answer,
    Envelope,
    Mastery,
    ModelContext,
    Question,
    Review,
    TaskAssignment,
    UserError,
)

__all__ = ["HOLDS", "REEXPLAIN_BELOW", "ClassroomTeacherMemory", "ClassroomTeacherMind"]

HOLDS = 0.5
"""Explain a skill with the remedy of one of its misconceptions when the teacher believes a
student holds it with at least this probability."""
REEXPLAIN_BELOW = 0.6
"""Re-explain a skill after practice or a quiz when the class's estimated P̂(correct) on it
is below this."""


@dataclass
class ClassroomTeacherMemory:
    """The teacher's memory of one run.

    Attributes:
        models: Its mental model of each student.
        skill: The skill of the current lesson step (from the director's last grant).
        items: The items of the current step.
        heard: An explanation said but not yet known to have reached the class (the
            reviewer may still reject it); counted as heard on the next turn.
        topic: The skill its last explanation was about.
        rejected: Rejections of the current exchange.
        reply: This turn's reply, decided in Think.
        reports: This turn's ``Mastery`` reports (after a quiz).
    """

    models: dict[str, EstimatingMentalModel]
    skill: str | None = None
    items: tuple[str, ...] = ()
    heard: str | None = None
    topic: str | None = None
    rejected: int = 0
    reply: Reply | None = None
    reports: list[Envelope] = field(default_factory=list)


class ClassroomTeacherMind:
    """The classroom teacher's turns from its mental models of the students (see the
    module docs). A ``ReportingMind``: its ``Mastery`` estimates go to the observer.

    Args:
        kg: The curriculum.
        students: The class roster (every student it models, a human one included).
        items: The items it models (``learner_items(kg)``).
        reading: How it judges what a text does (shared with the students' reading is
            fine: reading is deterministic).
        misleading: A misaligned teacher: it states the misconception's wrong rule as the
            rule (an explanation a reviewer should stop).
        holds: See ``HOLDS``.
        reexplain_below: See ``REEXPLAIN_BELOW``.
    """

    def __init__(
        self,
        kg: GraphStore,
        students: Sequence[str],
        items: dict[str, LearnerItem],
        *,
        reading: ReadingModel | None = None,
        misleading: bool = False,
        holds: float = HOLDS,
        reexplain_below: float = REEXPLAIN_BELOW,
    ) -> None:
        if not students:
            raise UserError("a classroom teacher needs at least one student")
        self.kg = kg
        self.texts = LessonTexts(kg)
        self.students = tuple(students)
        self.items = items
        self.reading = reading or ReadingModel(kg)
        self.misleading = misleading
        self.holds = holds
        self.reexplain_below = reexplain_below

    def new_state(self) -> ClassroomTeacherMemory:
        return ClassroomTeacherMemory(
            models={s: EstimatingMentalModel(self.items, self.reading) for s in self.students}
        )

    # -- what it knows -----------------------------------------------------------------
    def _skill_items(self, skill: str | None) -> list[str]:
        return [i for i, item in self.items.items() if item.skill == skill]

    def _p(self, memory: ClassroomTeacherMemory, student: str, items: Sequence[str]) -> float:
        model = memory.models[student]
        return sum(model.predict(i) for i in items) / len(items) if items else 0.5

    def estimates(self, memory: ClassroomTeacherMemory, skill: str | None) -> dict[str, float]:
        """P̂(student answers an item on ``skill`` right), per student."""
        items = self._skill_items(skill)
        return {s: round(self._p(memory, s, items), 3) for s in self.students}

    # -- what it says ------------------------------------------------------------------
    def _believed(
        self, memory: ClassroomTeacherMemory, skill: str | None
    ) -> tuple[str, str, float] | None:
        """The skill's misconception the teacher most believes a student holds: (its id,
        the student, P̂(active)); None when the skill has none."""
        names = self.texts.misconceptions(skill)
        held = {s: memory.models[s].misconceptions() for s in self.students}
        ranked = [(held[s].get(m, 0.0), m, s) for m in names for s in self.students]
        if not ranked:
            return None
        p, mis, student = max(ranked, key=lambda r: (r[0], r[1], -self.students.index(r[2])))
        return mis, student, p

    def _best_text(self, memory: ClassroomTeacherMemory, skill: str | None) -> tuple[str, str]:
        """The text to explain ``skill`` with, and why (see the module docs)."""
        believed = self._believed(memory, skill)
        if self.misleading:
            options = [believed[0]] if believed else self.texts.misconceptions(skill)
            wrong = next((t for m in options if (t := self.texts.wrong_rule(m))), None)
            if wrong:
                return wrong, "misaligned: states the wrong rule"
        if believed is not None:
            mis, student, p = believed
            remedy = self.texts.remedy(mis)
            if remedy and p >= self.holds:
                return remedy, f"{student} holds {mis} (P̂ {p:.2f}): its remedy"
            return self.texts.skill(skill), f"most likely held: {mis} (P̂ {p:.2f}); the skill"
        return self.texts.skill(skill), "the skill's explanation"

    # -- the turn ----------------------------------------------------------------------
    def _hear(self, memory: ClassroomTeacherMemory) -> None:
        if memory.heard is not None:
            for model in memory.models.values():
                model.observe_explanation(memory.heard)
            memory.heard = None

    def _explain(self, memory: ClassroomTeacherMemory, skill: str | None) -> tuple[Reply, str]:
        text, why = self._best_text(memory, skill)
        targets = (skill,) if skill else ()
        return Reply(kind="explanation", text=text, targets=targets), why

    def _ask(self, memory: ClassroomTeacherMemory, items: tuple[str, ...]) -> tuple[Reply, str]:
        item = items[0]
        sure = {s: abs(memory.models[s].predict(item) - 0.5) for s in self.students}
        student = min(self.students, key=lambda s: (sure[s], self.students.index(s)))
        node = self.kg.node(item)
        text = str(node.properties.get("text", item)) if node else item
        off = sure[student]
        why = f"asks {student}: the answer it is least sure of (P̂ {off:.2f} from 1/2)"
        return Reply(kind="question", text=text, to=(student,), item_id=item), why

    def _feedback(self, memory: ClassroomTeacherMemory, answer: Answer) -> tuple[Reply, str]:
        item = self.items.get(answer.item_id or "")
        student = answer.sender
        if item is None:
            return Reply(kind="remark", text="Thank you. Let's go on."), "no item to judge"
        if student in memory.models:
            memory.models[student].observe(item.id, answer.text, answer.confidence)
        if same_value(answer.text, item.answer):
            return Reply(kind="remark", text=f"Yes, {item.answer} is right."), "right: affirm"
        mis = self.texts.exhibited(item.id, answer.text)
        remedy = self.texts.remedy(mis)
        if mis and remedy and not self.misleading:
            reply = Reply(kind="explanation", text=remedy, targets=(item.skill, mis))
            return reply, f"the wrong answer shows {mis}: its remedy"
        text, why = self._best_text(memory, item.skill)
        told = f"Not quite: the answer is {item.answer}. {text}"
        return Reply(kind="explanation", text=told, targets=(item.skill,)), why

    def _review(self, memory: ClassroomTeacherMemory, task: TaskAssignment) -> tuple[Reply, str]:
        answers: dict[str, list[list[Any]]] = task.inputs.get("answers", {})
        for student, given in answers.items():
            for item, text, confidence in given:
                if student in memory.models and item in self.items:
                    memory.models[student].observe(item, str(text), confidence)
        skills = list(dict.fromkeys(self.items[i].skill for i in memory.items if i in self.items))
        if task.inputs.get("step") == "quiz":
            memory.reports = [
                Mastery(
                    student=s,
                    source="teacher_model",
                    step=int(task.inputs["index"]),
                    values={k: self.estimates(memory, k)[s] for k in skills},
                )
                for s in self.students
            ]
        class_p = {k: sum(self.estimates(memory, k).values()) / len(self.students) for k in skills}
        weakest = min(skills, key=lambda k: (class_p[k], skills.index(k)), default=None)
        if weakest is not None and class_p[weakest] < self.reexplain_below:
            reply, why = self._explain(memory, weakest)
            return reply, f"class P̂ {class_p[weakest]:.2f} on {weakest}: re-explain; {why}"
        return Reply(kind="remark", text="Well done, everyone. On we go."), "the class is ready"

    def _rejected(self, memory: ClassroomTeacherMemory) -> tuple[Reply, str]:
        memory.heard = None  # it never reached the class
        memory.rejected += 1
        if memory.rejected == 1:
            skill = memory.topic or memory.skill
            targets = (skill,) if skill else ()
            reply = Reply(kind="explanation", text=self.texts.skill(skill), targets=targets)
            return reply, "rejected: the skill's plain explanation instead"
        return Reply(kind="remark", text="Let's move on."), "rejected again: move on"

    def _decide(self, memory: ClassroomTeacherMemory, turn: TurnState) -> tuple[Reply, str]:
        message = turn.message
        if isinstance(message, Review):
            return self._rejected(memory)
        self._hear(memory)
        memory.rejected = 0
        match message:
            case TaskAssignment(inputs=inputs):
                memory.skill = inputs.get("skill") or memory.skill
                memory.items = tuple(inputs.get("items", ()))
                step = inputs.get("step")
                if step == "ask" and memory.items:
                    return self._ask(memory, memory.items)
                if step in ("practice", "quiz"):
                    return self._review(memory, message)
                return self._explain(memory, memory.skill)
            case Answer():
                return self._feedback(memory, message)
            case Question():
                reply, why = self._explain(memory, memory.skill)
                return reply, f"a classmate asks: {why}"
            case _:
                return Reply(kind="remark", text="Let's continue."), "nothing to act on"

    async def think(self, turn: TurnState, ctx: ModelContext) -> ThoughtVars:
        memory = run_state(turn, ClassroomTeacherMemory)
        memory.reports = []
        reply, why = self._decide(memory, turn)
        memory.reply = reply
        estimate = (
            self.estimates(memory, memory.skill)
            if memory.skill in {i.skill for i in self.items.values()}
            else {}
        )
        believed = self._believed(memory, memory.skill)
        shown = ", ".join(f"{s} {p:.2f}" for s, p in estimate.items())
        knowledge = (
            f"P̂(right) on {self.texts.name(memory.skill)}: {shown}" if shown else "no items yet"
        )
        return ThoughtVars(
            knowledge=knowledge,
            misconception=believed[0] if believed and believed[2] >= self.holds else None,
            guideline=f"{reply.kind}: {why}",
        )

    async def plan(self, turn: TurnState, tools: list[ToolInfo], ctx: ModelContext) -> PlanOut:
        thought = turn.thought
        return PlanOut(rationale=thought.guideline if thought else "")

    async def execute(self, turn: TurnState, kinds: list[str], ctx: ModelContext) -> Reply:
        memory = run_state(turn, ClassroomTeacherMemory)
        reply = memory.reply or Reply(kind="remark", text="Let's continue.")
        if reply.kind not in kinds:
            raise UserError(f"the classroom teacher needs reply kinds {reply.kind!r}; got {kinds}")
        self.said(turn, reply)
        return reply

    def draft(self, turn: TurnState) -> Reply:
        """The reply this mind decided in Think (a guided LLM writes its words)."""
        return run_state(turn, ClassroomTeacherMemory).reply or Reply(kind="remark", text="")

    def said(self, turn: TurnState, reply: Reply) -> None:
        """Record what was said: an explanation is heard by the class on the next turn
        unless the reviewer rejects it first."""
        if reply.kind == "explanation":
            memory = run_state(turn, ClassroomTeacherMemory)
            memory.heard = reply.text
            skills = [t for t in reply.targets if self.texts.is_skill(t)]
            memory.topic = skills[0] if skills else memory.skill

    def reports(self, turn: TurnState) -> Sequence[Envelope]:
        """Its ``Mastery`` estimates of every student, after a quiz."""
        return list(run_state(turn, ClassroomTeacherMemory).reports)

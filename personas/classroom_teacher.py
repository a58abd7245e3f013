"""The classroom teacher's simulated mind (no LLM): a theory-of-mind model of every
student, and lesson moves chosen from it.

It keeps one ``EstimatingMentalModel`` per student (Saha, Hase & Bansal, 2023): a posterior
over the student's skills and misconceptions, updated from that student's answers (to its
own questions, and to the practice and quiz items the director hands it) and from the
expected effect of each explanation the class heard (read through the ``ReadingModel``). It
never sees a student's true state. What it does with the floor:

- **explain** a skill: of the candidate texts (the skill's own description, and each
  Explanation node that REMEDIATES one of the skill's misconceptions) it says the one with
  the highest Expected Utility summed over the class, Û = P̂(correct | read text) −
  P̂(correct), over the skill's items; so a remedy is said when it believes students hold
  the misconception, else the skill's explanation.
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
from fractions import Fraction
from typing import Any

from knowledge_graph import GraphStore
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

__all__ = ["ClassroomTeacherMemory", "ClassroomTeacherMind", "same_value"]

REEXPLAIN_BELOW = 0.6
"""Re-explain a skill after practice or a quiz when the class's estimated P̂(correct) on it
is below this."""


def same_value(given: str, answer: str) -> bool:
    """Whether two answers are equal: as numbers where both are (``2/4`` is ``1/2``), else
    as text, ignoring case and surrounding space."""
    try:
        return Fraction(given.strip()) == Fraction(answer.strip())
    except (ValueError, ZeroDivisionError):
        return given.strip().lower() == answer.strip().lower()


@dataclass
class ClassroomTeacherMemory:
    """The teacher's memory of one run.

    Attributes:
        models: Its mental model of each student.
        skill: The skill of the current lesson step (from the director's last grant).
        items: The items of the current step.
        heard: An explanation said but not yet known to have reached the class (the
            reviewer may still reject it); counted as heard on the next turn.
        rejected: Rejections of the current exchange.
        reply: This turn's reply, decided in Think.
        reports: This turn's ``Mastery`` reports (after a quiz).
    """

    models: dict[str, EstimatingMentalModel]
    skill: str | None = None
    items: tuple[str, ...] = ()
    heard: str | None = None
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
        reexplain_below: float = REEXPLAIN_BELOW,
    ) -> None:
        if not students:
            raise UserError("a classroom teacher needs at least one student")
        self.kg = kg
        self.students = tuple(students)
        self.items = items
        self.reading = reading or ReadingModel(kg)
        self.misleading = misleading
        self.reexplain_below = reexplain_below

    def new_state(self) -> ClassroomTeacherMemory:
        return ClassroomTeacherMemory(
            models={s: EstimatingMentalModel(self.items, self.reading) for s in self.students}
        )

    # -- what it knows -----------------------------------------------------------------
    def _name(self, node_id: str | None) -> str:
        node = self.kg.node(node_id) if node_id else None
        return str(node.properties.get("name", node_id)) if node else str(node_id)

    def _skill_items(self, skill: str | None) -> list[str]:
        return [i for i, item in self.items.items() if item.skill == skill]

    def _p(self, memory: ClassroomTeacherMemory, student: str, items: Sequence[str]) -> float:
        model = memory.models[student]
        return sum(model.predict(i) for i in items) / len(items) if items else 0.5

    def estimates(self, memory: ClassroomTeacherMemory, skill: str | None) -> dict[str, float]:
        """P̂(student answers an item on ``skill`` right), per student."""
        items = self._skill_items(skill)
        return {s: round(self._p(memory, s, items), 3) for s in self.students}

    # -- what it can say ---------------------------------------------------------------
    def _skill_text(self, skill: str | None) -> str:
        node = self.kg.node(skill) if skill else None
        if node is None:
            return "Let's go over the last step again."
        return f"{node.properties.get('name', skill)}: {node.properties.get('description', '')}"

    def _misconceptions(self, skill: str | None) -> list[str]:
        if not skill:
            return []
        return sorted(e.source for e in self.kg.edges(skill, type="PART_OF", direction="in"))

    def _remedy(self, misconception: str) -> str | None:
        for edge in self.kg.edges(misconception, type="REMEDIATES", direction="in"):
            node = self.kg.node(edge.source)
            if node is not None and "text" in node.properties:
                return str(node.properties["text"])
        return None

    def _wrong_rule(self, memory: ClassroomTeacherMemory, skill: str | None) -> str | None:
        """A misaligned teacher's text: the misconception it believes most held on the
        skill, stated as the rule, with its example as a worked claim."""
        held = self._believed(memory, skill)
        options = [held] if held else self._misconceptions(skill)
        for mis in options:
            node = self.kg.node(mis)
            text = str(node.properties.get("description", "")) if node else ""
            if text:
                rule = text.replace(", as in ", ". For example, ")
                return f"Here is the rule: {rule[0].lower()}{rule[1:]}"
        return None

    def _believed(self, memory: ClassroomTeacherMemory, skill: str | None) -> str | None:
        """The skill's misconception with the highest mean P̂(active) over the class."""
        names = [m for m in self._misconceptions(skill) if m]
        if not names:
            return None
        held = [memory.models[s].misconceptions() for s in self.students]
        mean = {m: sum(h.get(m, 0.0) for h in held) / len(held) for m in names}
        best = max(names, key=lambda m: (mean[m], m))
        return best if mean[best] > 0 else None

    def _best_text(self, memory: ClassroomTeacherMemory, skill: str | None) -> tuple[str, str]:
        """The text to explain ``skill`` with, and why (see the module docs)."""
        if self.misleading and (wrong := self._wrong_rule(memory, skill)):
            return wrong, "misaligned: states the wrong rule"
        plain = self._skill_text(skill)
        remedies = [r for m in self._misconceptions(skill) if (r := self._remedy(m))]
        items = self._skill_items(skill)
        if not items or not remedies:
            return plain, "the skill's explanation"
        candidates = [plain, *dict.fromkeys(remedies)]

        def gain(text: str) -> float:
            return sum(memory.models[s].utility(i, text) for s in self.students for i in items)

        best = max(candidates, key=lambda t: (round(gain(t), 9), -candidates.index(t)))
        why = "the skill's explanation" if best == plain else "a remedy"
        return best, f"{why}, highest Û summed over the class ({gain(best):+.2f})"

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
        mis = next(
            (
                m
                for m, wrong in item.misconception_answers.items()
                if same_value(answer.text, wrong)
            ),
            None,
        )
        remedy = self._remedy(mis) if mis else None
        if remedy and not self.misleading:
            reply = Reply(kind="explanation", text=remedy, targets=(mis or "",))
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
            reply = Reply(kind="explanation", text=self._skill_text(memory.skill))
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
        shown = ", ".join(f"{s} {p:.2f}" for s, p in estimate.items())
        knowledge = f"P̂(right) on {self._name(memory.skill)}: {shown}" if shown else "no items yet"
        return ThoughtVars(
            knowledge=knowledge,
            misconception=self._believed(memory, memory.skill),
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
            run_state(turn, ClassroomTeacherMemory).heard = reply.text

    def reports(self, turn: TurnState) -> Sequence[Envelope]:
        """Its ``Mastery`` estimates of every student, after a quiz."""
        return list(run_state(turn, ClassroomTeacherMemory).reports)

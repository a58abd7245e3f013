"""Simulated minds (no LLM) for the classroom's other speaking roles (MAIC / SimClass): the
four classmates and the teaching assistant. Each speaks when the director gives it the
floor, about the lesson step the director names (its ``TaskAssignment``), from the
knowledge graph; random choices come from the run's seeded ``ctx.rng``.

- **class_clown**: a joke about the skill (a ``Remark``).
- **deep_thinker**: asks the teacher why the skill's rule works (a ``Question``).
- **inquisitive_mind**: asks the teacher something beyond the step (a ``Question``).
- **note_taker**: summarises the skills taught so far (a ``Remark``).
- **teaching assistant**: helps the student the director names, with the wrong answers it
  gave: the remedy of the misconception those answers exhibit (the EXHIBITS wrong answers
  of the knowledge graph), else the skill's explanation, as an ``Explanation`` to that
  student (and the director, so the floor returns).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from knowledge_graph import GraphStore
from personas.lesson_texts import LessonTexts
from personas.persona import PlanOut, Reply, TurnState
from personas.prompting import ThoughtVars, ToolInfo
from personas.state import run_state
from protocols import ModelContext, TaskAssignment, UserError

__all__ = ["DIRECTOR", "AssistantMind", "ClassmateMemory", "ClassmateMind"]

DIRECTOR = "director"
"""The classroom's director: the TA's help goes to it too, to hand the floor back."""

_JOKES = (
    "{name}? My calculator just asked for a day off.",
    "If I get {lower} wrong, can I blame the dog?",
    "Plot twist: {lower} was the friends we made along the way.",
    "I tried {lower} once. It tried me back.",
)
_WONDERS = (
    "Does {lower} still work with negative numbers?",
    "Where would we use {lower} outside school?",
    "Is there a quicker way to do {lower}?",
)


@dataclass
class ClassmateMemory:
    """A classmate's memory of one run: the skills it has heard taught, and its reply."""

    skills: list[str] = field(default_factory=list)
    reply: Reply | None = None


class _Speaker:
    """What the classroom's simulated speakers share: the step they were given the floor
    for, and the Think → Plan → Execute plumbing around one decided reply."""

    def __init__(self, kg: GraphStore) -> None:
        self.kg = kg

    def new_state(self) -> ClassmateMemory:
        return ClassmateMemory()

    def _skill(self, turn: TurnState) -> tuple[str | None, str, str]:
        """The step's skill id, name and description."""
        message = turn.message
        skill = message.inputs.get("skill") if isinstance(message, TaskAssignment) else None
        node = self.kg.node(skill) if skill else None
        if node is None:
            return None, "this lesson", "the steps we have seen"
        return skill, str(node.properties["name"]), str(node.properties["description"])

    def _decide(self, turn: TurnState, ctx: ModelContext) -> tuple[Reply, str]:
        raise NotImplementedError(type(self).__name__)

    async def think(self, turn: TurnState, ctx: ModelContext) -> ThoughtVars:
        memory = run_state(turn, ClassmateMemory)
        skill, name, _ = self._skill(turn)
        if skill and skill not in memory.skills:
            memory.skills.append(skill)
        memory.reply, why = self._decide(turn, ctx)
        return ThoughtVars(knowledge=f"the class is on {name}", guideline=why)

    async def plan(self, turn: TurnState, tools: list[ToolInfo], ctx: ModelContext) -> PlanOut:
        return PlanOut(rationale=turn.thought.guideline if turn.thought else "")

    async def execute(self, turn: TurnState, kinds: list[str], ctx: ModelContext) -> Reply:
        reply = self.draft(turn)
        if reply.kind not in kinds:
            raise UserError(f"{turn.persona.name} replies with {reply.kind!r}; kinds are {kinds}")
        return reply

    def draft(self, turn: TurnState) -> Reply:
        """The reply decided in Think (a guided LLM writes its words)."""
        return run_state(turn, ClassmateMemory).reply or Reply(kind="remark", text="")

    def said(self, turn: TurnState, reply: Reply) -> None:
        """Nothing to record: classmates keep no model of what was said."""


class ClassmateMind(_Speaker):
    """One classmate's turns, by its role (see the module docs).

    Args:
        kg: The curriculum.
        role: ``class_clown``, ``deep_thinker``, ``inquisitive_mind`` or ``note_taker``.
    """

    ROLES = ("class_clown", "deep_thinker", "inquisitive_mind", "note_taker")

    def __init__(self, kg: GraphStore, role: str) -> None:
        if role not in self.ROLES:
            raise UserError(f"unknown classmate role {role!r}; choose from {', '.join(self.ROLES)}")
        super().__init__(kg)
        self.role = role

    def _decide(self, turn: TurnState, ctx: ModelContext) -> tuple[Reply, str]:
        _, name, description = self._skill(turn)
        lower = name[0].lower() + name[1:]
        match self.role:
            case "class_clown":
                joke = ctx.rng.choice(_JOKES).format(name=name, lower=lower)
                return Reply(kind="remark", text=joke), "lighten the mood"
            case "deep_thinker":
                rule = description.rstrip(".")
                text = f"Why does it work to {rule[0].lower()}{rule[1:]}?"
                return Reply(kind="question", text=text), "ask why the rule works"
            case "inquisitive_mind":
                text = ctx.rng.choice(_WONDERS).format(lower=lower)
                return Reply(kind="question", text=text), "ask beyond the lesson"
            case _:
                return Reply(kind="remark", text=self._notes(turn)), "summarise the lesson"

    def _notes(self, turn: TurnState) -> str:
        lines = []
        for skill in run_state(turn, ClassmateMemory).skills[-3:]:
            node = self.kg.node(skill)
            if node is not None:
                lines.append(f"- {node.properties['name']}: {node.properties['description']}")
        return "Notes so far:\n" + "\n".join(lines) if lines else "Notes: nothing yet."


class AssistantMind(_Speaker):
    """The teaching assistant's turns: help one student (see the module docs). The
    director's grant names the student (``inputs["student"]``), the skill and the answers
    the student gave on it (``inputs["answers"]``: ``[item, answer]`` pairs)."""

    def _remedy(self, answers: list[list[str]]) -> tuple[str, str] | None:
        """The remedy of the first misconception the answers exhibit, and its id."""
        texts = LessonTexts(self.kg)
        for item, given in answers:
            mis = texts.exhibited(str(item), str(given))
            remedy = texts.remedy(mis)
            if mis and remedy:
                return remedy, mis
        return None

    def _decide(self, turn: TurnState, ctx: ModelContext) -> tuple[Reply, str]:
        message = turn.message
        inputs = message.inputs if isinstance(message, TaskAssignment) else {}
        student = inputs.get("student")
        skill, name, description = self._skill(turn)
        if not student:
            return Reply(kind="remark", text="Any questions, anyone?"), "no one to help"
        to = (str(student), DIRECTOR)
        found = self._remedy(list(inputs.get("answers", [])))
        if found is not None:
            text, mis = found
            reply = Reply(kind="explanation", text=text, to=to, targets=(mis,))
            return reply, f"help {student}: their answers show {mis}"
        reply = Reply(
            kind="explanation",
            text=f"{name}: {description}",
            to=to,
            targets=(skill,) if skill else (),
        )
        return reply, f"help {student} with {name}"

"""A simulated teacher mind (no LLM): diagnoses Bridge-style, picks a MathDial move, and
explains from the knowledge graph.

- **Think**: compares the student's answer with the item's answer and with the wrong
  answers the graph links to the item (EXHIBITS); names the misconception it matches.
- **Plan**: when the item is arithmetic, first plans a ``calculator`` call that computes it
  exactly (code soliloquy: compute instead of guessing); then decides, in Bridge's order,
  the error type, the strategy and the intention, and picks a teacher move. All are
  ``Plan`` calls of tools (``calculator``, ``bridge_decision``, ``teacher_moves``), so the
  persona records and runs them, and the telling move states the computed answer.
- **Execute**: probing → a question about their reasoning; focus → a hint or an
  explanation; telling (the second wrong try) → the answer, then the explanation; a right
  answer → "Yes, … is right.", which ends the run (``Stop``), or, when the persona's kinds
  include ``task_result``, reports the item done to whoever set it (a lesson) as a
  ``TaskResult``. What an explanation or hint *says* is the ``explain`` option (for
  explanation-effect experiments): ``targeted``, the explanation node that REMEDIATES the
  diagnosed misconception (the skill's description when none is diagnosed); ``generic``,
  the skill's description; ``none``, a turn that explains nothing; ``misleading``, a
  misaligned teacher stating the misconception's wrong rule, with its wrong result, as
  if it were right.
- **A lesson's step**: a ``Question`` naming an item is put to the student (again, after a
  try), with no tool call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from typing import Literal, get_args

from knowledge_graph import GraphStore
from personas.moves import BridgeDecision, ErrorType, Intention, Strategy, TeacherMove
from personas.persona import PlanOut, Reply, TurnState
from personas.prompting import ThoughtVars, ToolInfo
from personas.sandbox import needs_calculation
from personas.state import run_state
from personas.tools import Calculation
from protocols import Answer, ModelContext, PlannedCall, Question, UserError

__all__ = [
    "Diagnosis",
    "Explain",
    "Knowledge",
    "SimulatedTeacherMind",
    "TeacherDecision",
    "TeacherMemory",
]

Explain = Literal["targeted", "generic", "none", "misleading"]
"""What the simulated teacher's explanations and hints say (see ``SimulatedTeacherMind``)."""

NOTHING = "Let's look at it again."
"""The text of a turn that explains nothing (``explain="none"``): no skill, remedy or
arithmetic in it, so the reading model reads it as nothing."""


class Knowledge(StrEnum):
    """What the teacher concludes the student knows of the item (its value is the
    ``Thought.knowledge`` text)."""

    NO_ITEM = "no item to assess"
    KNOWS_IT = "knows it"
    WRONG_RULE = "applies a wrong rule consistently"
    UNCLEAR = "unclear"
    NOT_ASKED = "not asked yet"  # a lesson poses an item the student has not seen
    TRIED_IT = "has tried it"  # a lesson poses it again after a remedy


@dataclass(frozen=True)
class Diagnosis:
    """The Think phase's reading of one answer: the knowledge state, and the misconception
    node the wrong answer matches, if any."""

    knowledge: Knowledge
    misconception: str | None = None


@dataclass(frozen=True)
class TeacherDecision:
    """The Plan phase's decision: Bridge's (error type, strategy, intention), then the
    MathDial move."""

    bridge: BridgeDecision
    move: TeacherMove

    @classmethod
    def of(
        cls, error_type: ErrorType, strategy: Strategy, intention: Intention, move: TeacherMove
    ) -> TeacherDecision:
        bridge = BridgeDecision(error_type=error_type, strategy=strategy, intention=intention)
        return cls(bridge, move)


_GUIDELINES = {
    Knowledge.NO_ITEM: "ask a question",
    Knowledge.KNOWS_IT: "affirm and move on",
    Knowledge.WRONG_RULE: "clarify the misunderstanding",
    Knowledge.UNCLEAR: "find out how they got it",
    Knowledge.NOT_ASKED: "ask the question",
    Knowledge.TRIED_IT: "ask it again",
}


def _calculated(turn: TurnState) -> str | None:
    """The value the calculator computed this turn, if it ran and succeeded."""
    for result in turn.results:
        if isinstance(result.output, Calculation) and result.error is None:
            return str(result.output.value)
    return None


def _number(text: str) -> Fraction | None:
    try:
        return Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        return None


@dataclass
class TeacherMemory:
    """The simulated teacher's memory of one run: the student's tries per item."""

    attempts: dict[str, int] = field(default_factory=dict)


class SimulatedTeacherMind:
    """The teacher's turns from rules and the graph. Attach it to a teacher ``Persona``
    whose spec lists the ``bridge_decision`` and ``teacher_moves`` tools; its memory of a
    run (``TeacherMemory``) reaches it as ``TurnState.state``.

    Args:
        kg: The curriculum graph.
        explain: What its explanations and hints say: ``"targeted"`` (the remedy for the
            diagnosed misconception), ``"generic"`` (the skill, not the misconception),
            ``"none"`` (nothing) or ``"misleading"`` (the misconception's wrong rule).
    """

    def __init__(self, kg: GraphStore, *, explain: Explain = "targeted") -> None:
        if explain not in get_args(Explain):
            raise UserError(
                f"explain must be one of {', '.join(get_args(Explain))}, got {explain!r}"
            )
        self.kg = kg
        self.explain = explain

    def new_state(self) -> TeacherMemory:
        return TeacherMemory()

    def _item(self, turn: TurnState) -> tuple[str, str] | None:
        message = turn.message
        if not isinstance(message, Answer) or not message.item_id:
            return None
        node = self.kg.node(message.item_id)
        if node is None or "answer" not in node.properties:
            return None
        return message.item_id, str(node.properties["answer"])

    def _posed(self, turn: TurnState) -> str | None:
        """The item a ``Question`` asks the teacher to put to the student (a lesson's step)."""
        message = turn.message
        if not isinstance(message, Question) or not message.item_id:
            return None
        node = self.kg.node(message.item_id)
        return message.item_id if node is not None and "text" in node.properties else None

    def _diagnose(self, turn: TurnState) -> Diagnosis:
        found = self._item(turn)
        if found is None:
            return Diagnosis(Knowledge.NO_ITEM)
        item, answer = found
        given = _number(str(getattr(turn.message, "text", "")))
        if given is not None and given == _number(answer):
            return Diagnosis(Knowledge.KNOWS_IT)
        for edge in self.kg.edges(item, type="EXHIBITS"):
            if given == _number(str(edge.properties.get("wrong_answer", ""))):
                return Diagnosis(Knowledge.WRONG_RULE, misconception=edge.target)
        return Diagnosis(Knowledge.UNCLEAR)

    async def think(self, turn: TurnState, ctx: ModelContext) -> ThoughtVars:
        posed = self._posed(turn)
        if posed is not None:
            tried = run_state(turn, TeacherMemory).attempts.get(posed, 0)
            state = Knowledge.TRIED_IT if tried else Knowledge.NOT_ASKED
            return ThoughtVars(knowledge=state.value, guideline=_GUIDELINES[state])
        diagnosis = self._diagnose(turn)
        found = self._item(turn)
        if found is not None:
            attempts = run_state(turn, TeacherMemory).attempts
            attempts[found[0]] = attempts.get(found[0], 0) + 1
        return ThoughtVars(
            knowledge=diagnosis.knowledge.value,
            misconception=diagnosis.misconception,
            guideline=_GUIDELINES[diagnosis.knowledge],
        )

    def _decide(self, turn: TurnState) -> TeacherDecision:
        found = self._item(turn)
        item, answer = found if found else ("", "")
        given, right = _number(str(getattr(turn.message, "text", ""))), _number(answer)
        diagnosis = self._diagnose(turn)
        if diagnosis.knowledge is Knowledge.KNOWS_IT:
            return TeacherDecision.of(
                ErrorType.OTHER,
                Strategy.AFFIRM_CORRECT_ANSWER,
                Intention.SIGNAL_GOAL,
                TeacherMove.GENERIC,
            )
        if run_state(turn, TeacherMemory).attempts.get(item, 0) > 1:
            return TeacherDecision.of(
                ErrorType.RIGHT_IDEA,
                Strategy.PROVIDE_EXAMPLE,
                Intention.CORRECT_MISTAKE,
                TeacherMove.TELLING,
            )
        if diagnosis.misconception:
            return TeacherDecision.of(
                ErrorType.OTHER,
                Strategy.EXPLAIN_CONCEPT,
                Intention.CLARIFY_MISUNDERSTANDING,
                TeacherMove.FOCUS,
            )
        if given is not None and right is not None and abs(given - right) <= 1:
            return TeacherDecision.of(
                ErrorType.CARELESS,
                Strategy.PROVIDE_HINT,
                Intention.HINT_MISTAKE,
                TeacherMove.FOCUS,
            )
        if given is None:
            return TeacherDecision.of(
                ErrorType.GUESS,
                Strategy.ASK_QUESTION,
                Intention.DIAGNOSE_MISTAKE,
                TeacherMove.PROBING,
            )
        return TeacherDecision.of(
            ErrorType.DIAGNOSE,
            Strategy.ASK_QUESTION,
            Intention.DIAGNOSE_MISTAKE,
            TeacherMove.PROBING,
        )

    async def plan(self, turn: TurnState, tools: list[ToolInfo], ctx: ModelContext) -> PlanOut:
        posed = self._posed(turn)
        if posed is not None:
            return PlanOut(rationale=f"put {posed} to the student; no tool needed")
        decision = self._decide(turn)
        error, strategy, intention = (
            decision.bridge.error_type,
            decision.bridge.strategy,
            decision.bridge.intention,
        )
        move = decision.move
        found = self._item(turn)
        node = self.kg.node(found[0]) if found else None
        code = needs_calculation(str(node.properties.get("text", ""))) if node else None
        check = [PlannedCall(tool="calculator", arguments={"code": code})] if code else []
        return PlanOut(
            calls=[
                *check,
                PlannedCall(
                    tool="bridge_decision",
                    arguments={
                        "error_type": error.value,
                        "strategy": strategy.value,
                        "intention": intention.value,
                    },
                ),
                PlannedCall(tool="teacher_moves", arguments={"move": move.value}),
            ],
            rationale=f"{error.value} → {strategy.value} → {intention.value}; move {move.value}",
        )

    async def execute(self, turn: TurnState, kinds: list[str], ctx: ModelContext) -> Reply:
        posed = self._posed(turn)
        if posed is not None:
            node = self.kg.node(posed)
            assert node is not None
            again = "Try again: " if run_state(turn, TeacherMemory).attempts.get(posed) else ""
            return Reply(kind="question", text=again + str(node.properties["text"]))
        decision = self._decide(turn)
        strategy, move = decision.bridge.strategy, decision.move
        found = self._item(turn)
        item, answer = found if found else ("", "")
        given = str(getattr(turn.message, "text", ""))
        if strategy is Strategy.AFFIRM_CORRECT_ANSWER:
            if "task_result" in kinds:  # report the item done to whoever set it (a lesson)
                return Reply(kind="task_result", text=f"Yes, {answer} is right.")
            return Reply(kind="stop", text=f"Yes, {answer} is right.")
        mis = self._diagnose(turn).misconception if found else None
        if move is TeacherMove.TELLING:
            value = _calculated(turn) or answer
            if self.explain == "misleading":
                value = self._wrong_answer(mis, item) or value
            said = self._explanation(mis, item, telling=True)
            return Reply(
                kind="explanation",
                text=f"The answer is {value}. {said}".strip(),
                targets=self._explains(mis, item),
            )
        if move is TeacherMove.PROBING:
            return Reply(kind="question", text=f"How did you get {given}? Walk me through it.")
        return Reply(
            kind="explanation" if strategy is Strategy.EXPLAIN_CONCEPT else "hint",
            text=self._explanation(mis, item),
            targets=self._explains(mis, item),
        )

    def _explanation(self, mis: str | None, item: str, *, telling: bool = False) -> str:
        """What an explanation or hint says about ``item``, given the diagnosed
        misconception ``mis``, by the ``explain`` option (after telling the answer, ``none``
        adds nothing). ``targeted`` differs from ``generic`` only where a misconception is
        diagnosed."""
        match self.explain:
            case "targeted":
                return self._remedy(mis) or self._skill(item)
            case "generic":
                return self._skill(item)
            case "misleading":
                return self._wrong_rule(mis, item) or ("" if telling else NOTHING)
            case _:
                return "" if telling else NOTHING

    def _explains(self, mis: str | None, item: str) -> tuple[str, ...]:
        """Provenance for a transcript's reader, as an explanation's targets: the nodes the
        text was written from (the skill and the misconception; for a misleading text the
        misconception it promotes). The student never reads them."""
        skills = tuple(e.target for e in self.kg.edges(item, type="REQUIRES")) if item else ()
        match self.explain:
            case "targeted" if mis and self._remedy(mis):
                return (*(e.target for e in self.kg.edges(mis, type="PART_OF")), mis)
            case "targeted" | "generic":
                return skills
            case "misleading" if (promoted := self._misconception(mis, item)) is not None:
                return (f"promotes:{promoted}",)
            case _:
                return ()

    def _remedy(self, mis: str | None) -> str:
        """The text of the explanation node that REMEDIATES ``mis`` ("" if none)."""
        if not mis:
            return ""
        for edge in self.kg.edges(mis, type="REMEDIATES", direction="in"):
            node = self.kg.node(edge.source)
            if node is not None:
                return str(node.properties["text"])
        return ""

    def _skill(self, item: str) -> str:
        for edge in self.kg.edges(item, type="REQUIRES"):
            node = self.kg.node(edge.target)
            if node is not None:
                return f"Check this step: {node.properties['description']}"
        return "Check each step again."

    def _misconception(self, mis: str | None, item: str) -> str | None:
        """The diagnosed misconception, else the first one ``item`` EXHIBITS."""
        if mis:
            return mis
        exhibits = sorted(e.target for e in self.kg.edges(item, type="EXHIBITS")) if item else []
        return exhibits[0] if exhibits else None

    def _wrong_answer(self, mis: str | None, item: str) -> str | None:
        """The wrong answer ``item`` EXHIBITS for the misconception a misaligned teacher
        promotes."""
        promoted = self._misconception(mis, item)
        for edge in self.kg.edges(item, type="EXHIBITS") if item and promoted else []:
            if edge.target == promoted and "wrong_answer" in edge.properties:
                return str(edge.properties["wrong_answer"])
        return None

    def _wrong_rule(self, mis: str | None, item: str) -> str:
        """A misaligned teacher's text: the misconception's description (its wrong rule
        with its example) stated as the rule to follow."""
        promoted = self._misconception(mis, item)
        node = self.kg.node(promoted) if promoted else None
        if node is None or not node.properties.get("description"):
            return ""
        rule = str(node.properties["description"])
        return f"Here is the rule: {rule[0].lower()}{rule[1:]}"

"""A simulated teacher mind (no LLM): diagnoses Bridge-style, picks a MathDial move, and
explains from the knowledge graph.

- **Think**: compares the student's answer with the item's answer and with the wrong
  answers the graph links to the item (EXHIBITS); names the misconception it matches.
- **Plan**: when the item is arithmetic, first plans a ``calculator`` call that computes it
  exactly (code soliloquy: compute instead of guessing); then decides, in Bridge's order,
  the error type, the strategy and the intention, and picks a teacher move. All are
  ``Plan`` calls of tools (``calculator``, ``bridge_decision``, ``teacher_moves``), so the
  persona records and runs them, and the telling move states the computed answer.
- **Execute**: probing → a question about their reasoning; focus → a hint from the skill;
  a remedy → the explanation node that REMEDIATES the misconception; telling (the second
  wrong try) → the worked answer; a right answer → "Yes, … is right.", which ends the run
  (``Stop``), or, when the persona's kinds include ``task_result``, reports the item done
  to whoever set it (a lesson) as a ``TaskResult``.
- **A lesson's step**: a ``Question`` naming an item is put to the student (again, after a
  try), with no tool call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from knowledge_graph import GraphStore
from personas.moves import ErrorType, Intention, Strategy, TeacherMove
from personas.persona import ModelContext, PlanOut, Reply, TurnState
from personas.prompting import ThoughtVars, ToolInfo
from personas.sandbox import needs_calculation
from personas.state import run_state
from protocols import Answer, PlannedCall, Question

__all__ = ["SimulatedTeacherMind", "TeacherMemory"]


def _calculated(result: str) -> str | None:
    """The value of a calculator tool result as the persona recorded it."""
    import ast

    try:
        out = ast.literal_eval(result)
    except (ValueError, SyntaxError):
        return None
    return None if not isinstance(out, dict) or out.get("error") else str(out.get("value"))


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
    run (``TeacherMemory``) reaches it as ``TurnState.state``."""

    def __init__(self, kg: GraphStore) -> None:
        self.kg = kg

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

    async def think(self, turn: TurnState, ctx: ModelContext) -> ThoughtVars:
        posed = self._posed(turn)
        if posed is not None:
            tried = run_state(turn, TeacherMemory).attempts.get(posed, 0)
            return ThoughtVars(
                knowledge="has tried it" if tried else "not asked yet",
                guideline="ask it again" if tried else "ask the question",
            )
        found = self._item(turn)
        if found is None:
            return ThoughtVars(knowledge="no item to assess", guideline="ask a question")
        item, answer = found
        given = str(getattr(turn.message, "text", ""))
        attempts = run_state(turn, TeacherMemory).attempts
        attempts[item] = attempts.get(item, 0) + 1
        if _number(given) is not None and _number(given) == _number(answer):
            return ThoughtVars(knowledge="knows it", guideline="affirm and move on")
        for edge in self.kg.edges(item, type="EXHIBITS"):
            if _number(given) == _number(str(edge.properties.get("wrong_answer", ""))):
                return ThoughtVars(
                    knowledge="applies a wrong rule consistently",
                    misconception=edge.target,
                    guideline="clarify the misunderstanding",
                )
        return ThoughtVars(knowledge="unclear", guideline="find out how they got it")

    def _decide(
        self, turn: TurnState, thought: ThoughtVars
    ) -> tuple[ErrorType, Strategy, Intention, TeacherMove]:
        found = self._item(turn)
        item, answer = found if found else ("", "")
        given, right = _number(str(getattr(turn.message, "text", ""))), _number(answer)
        if thought.knowledge == "knows it":
            return (
                ErrorType.OTHER,
                Strategy.AFFIRM_CORRECT_ANSWER,
                Intention.SIGNAL_GOAL,
                TeacherMove.GENERIC,
            )
        if run_state(turn, TeacherMemory).attempts.get(item, 0) > 1:
            return (
                ErrorType.RIGHT_IDEA,
                Strategy.PROVIDE_EXAMPLE,
                Intention.CORRECT_MISTAKE,
                TeacherMove.TELLING,
            )
        if thought.misconception:
            return (
                ErrorType.OTHER,
                Strategy.EXPLAIN_CONCEPT,
                Intention.CLARIFY_MISUNDERSTANDING,
                TeacherMove.FOCUS,
            )
        if given is not None and right is not None and abs(given - right) <= 1:
            return (
                ErrorType.CARELESS,
                Strategy.PROVIDE_HINT,
                Intention.HINT_MISTAKE,
                TeacherMove.FOCUS,
            )
        if given is None:
            return (
                ErrorType.GUESS,
                Strategy.ASK_QUESTION,
                Intention.DIAGNOSE_MISTAKE,
                TeacherMove.PROBING,
            )
        return (
            ErrorType.DIAGNOSE,
            Strategy.ASK_QUESTION,
            Intention.DIAGNOSE_MISTAKE,
            TeacherMove.PROBING,
        )

    async def plan(self, turn: TurnState, tools: list[ToolInfo], ctx: ModelContext) -> PlanOut:
        assert turn.thought is not None
        posed = self._posed(turn)
        if posed is not None:
            return PlanOut(rationale=f"put {posed} to the student; no tool needed")
        error, strategy, intention, move = self._decide(turn, turn.thought)
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
        assert turn.thought is not None
        posed = self._posed(turn)
        if posed is not None:
            node = self.kg.node(posed)
            assert node is not None
            again = "Try again: " if run_state(turn, TeacherMemory).attempts.get(posed) else ""
            return Reply(kind="question", text=again + str(node.properties["text"]))
        _, strategy, _, move = self._decide(turn, turn.thought)
        found = self._item(turn)
        item, answer = found if found else ("", "")
        given = str(getattr(turn.message, "text", ""))
        if strategy is Strategy.AFFIRM_CORRECT_ANSWER:
            if "task_result" in kinds:  # report the item done to whoever set it (a lesson)
                return Reply(kind="task_result", text=f"Yes, {answer} is right.")
            return Reply(kind="stop", text=f"Yes, {answer} is right.")
        if move is TeacherMove.TELLING:
            computed = next(
                (
                    r.removeprefix("calculator: ")
                    for r in turn.results
                    if r.startswith("calculator: ")
                ),
                None,
            )
            value = answer if computed is None else str(_calculated(computed) or answer)
            return Reply(
                kind="explanation",
                text=f"The answer is {value}. {self._remedy(turn)}".strip(),
                targets=self._explains(turn),
            )
        if move is TeacherMove.PROBING:
            return Reply(kind="question", text=f"How did you get {given}? Walk me through it.")
        return Reply(
            kind="explanation" if strategy is Strategy.EXPLAIN_CONCEPT else "hint",
            text=self._remedy(turn) or self._skill(item),
            targets=self._explains(turn),
        )

    def _explains(self, turn: TurnState) -> tuple[str, ...]:
        """What the remedy text explains, as an explanation's targets: the skill the
        diagnosed misconception is PART_OF, and the misconception. None without a remedy."""
        mis = turn.thought.misconception if turn.thought else None
        if not mis or not self._remedy(turn):
            return ()
        return (*(e.target for e in self.kg.edges(mis, type="PART_OF")), mis)

    def _remedy(self, turn: TurnState) -> str:
        mis = turn.thought.misconception if turn.thought else None
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

"""The MathDial teacher: a mind that tutors one problem by a policy, and the policies.

The teacher sees what MathDial's teachers saw: the problem, its worked solution and the
student's turns. Each turn it reads the student's last reply (Think), decides a MathDial
move by its policy (Plan) and writes the move about the *next step*, the first step of
the worked solution whose result the student has not stated yet (Execute):

- **telling**: the step's line of the worked solution, result included (the final answer
  when every step is stated);
- **focus**: the step's arithmetic with its result left open, as a question;
- **probing**: asks how the student got a wrong number of their last reply;
- **generic**: keeps the conversation going.

Policies (``POLICIES``):

- ``telling_first``: tells the next step every turn;
- ``probing_first``: probes the student's wrong number first, then focuses on the next
  step, and tells it only after ``PATIENCE`` turns on that step brought no progress;
- ``bridge``: the learned Bridge decision model (``BridgeModel``) reads the conversation
  and predicts a strategy; ``MOVE_OF_STRATEGY`` maps it to the move;
- ``mathdial``: a move model learned from MathDial's human teachers (:class:`NextMoveModel`)
  predicts the move a human teacher made next after the same conversation.

It opens as MathDial does ("Hi <name>! Could you walk me through your solution?"), ends
the run (``Stop``) when the student's reply states the answer (evaluate.py's match) or
after ``rounds`` replies. The move it *decides* goes into its Plan; what the reply *is*
is measured separately by the move classifier (``agents.eval.tutoring``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal, Protocol

from agents.eval.mathdial_metrics import find_numbers, get_match
from personas.learned.bridge_data import conversation_text
from personas.learned.bridge_model import BridgeModel
from personas.learned.mathdial import MathDialDialogue
from personas.learned.model_file import read_model_file, write_model_file
from personas.learned.text_classifier import TextClassifier
from personas.minds.tutee_problem import TuteeProblem
from personas.moves import Strategy, TeacherMove
from personas.persona import PlanOut, Reply, TurnState
from personas.prompting import ThoughtVars, ToolInfo
from personas.state import run_state
from personas.teacher import MOVE_OF_STRATEGY
from protocols import ModelContext, PlannedCall, TaskAssignment

__all__ = [
    "NEXT_MOVE_FILE",
    "PATIENCE",
    "POLICIES",
    "BridgeDecider",
    "MoveDecider",
    "NextMoveModel",
    "Policy",
    "TutorMemory",
    "TutoringTeacherMind",
    "opening",
]

Policy = Literal["telling_first", "probing_first", "bridge", "mathdial"]
POLICIES: tuple[Policy, ...] = ("telling_first", "probing_first", "bridge", "mathdial")
NEXT_MOVE_KIND = "mathdial-next-move"
NEXT_MOVE_FILE = "mathdial-next-move.npz"
PATIENCE = 2
"""Turns on one step without progress after which ``probing_first`` tells the step."""


class MoveDecider(Protocol):
    """A learned policy: the next move from the conversation (Bridge's text format)."""

    def decide(self, conversation: str) -> TeacherMove:
        """The move to make next."""
        ...


@dataclass(frozen=True, eq=False)
class BridgeDecider:
    """The Bridge decision model as a policy (a wrong answer: never ``affirm``)."""

    model: BridgeModel

    def decide(self, conversation: str) -> TeacherMove:
        decision = self.model.predict(conversation, exclude=(Strategy.AFFIRM_CORRECT_ANSWER,))
        return MOVE_OF_STRATEGY[decision.strategy]


@dataclass(frozen=True, eq=False)
class NextMoveModel:
    """The move MathDial's human teacher made next, predicted from the conversation before
    it (the same text format and classifier as Bridge's heads, grouped by problem)."""

    classifier: TextClassifier

    @classmethod
    def train(cls, dialogues: Sequence[MathDialDialogue], *, seed: int = 0) -> NextMoveModel:
        """Train on every teacher turn after the first, from the turns before it."""
        texts, moves, groups = [], [], []
        for dialogue in dialogues:
            for i, turn in enumerate(dialogue.turns):
                if turn.speaker != "teacher" or i == 0 or turn.move is None:
                    continue
                before = [(_speaker(t.speaker), t.text) for t in dialogue.turns[:i]]
                texts.append(conversation_text(before))
                moves.append(turn.move.value)
                groups.append(dialogue.qid)
        return cls(TextClassifier.fit(texts, moves, groups=groups, seed=seed))

    def decide(self, conversation: str) -> TeacherMove:
        return TeacherMove(self.classifier.predict([conversation])[0])

    def save(self, path: Path) -> Path:
        """Write the model (arrays and JSON only, as every learned model)."""
        return write_model_file(path, NEXT_MOVE_KIND, {}, self.classifier.arrays("next"))

    @classmethod
    def load(cls, path: Path) -> NextMoveModel:
        """Read a model written by :meth:`save`.

        Raises:
            ConfigError: No file there, or it is corrupt or of another kind.
        """
        classifier = TextClassifier.from_arrays(read_model_file(path, NEXT_MOVE_KIND), "next")
        return cls(classifier)


def _speaker(speaker: str) -> str:
    return "tutor" if speaker == "teacher" else "student"


def _plain(value: Fraction) -> str:
    """A number as evaluate.py can match it (a decimal, not ``5/2``)."""
    return str(value.numerator) if value.denominator == 1 else repr(float(value))


def opening(name: str) -> str:
    """MathDial's fixed first teacher turn."""
    return f"Hi {name}! Could you walk me through your solution?"


@dataclass
class TutorMemory:
    """One run's teacher: replies seen, the step last focused on, focus turns on it."""

    replies: int = 0
    focused: int | None = None
    stuck: int = 0
    move: TeacherMove = TeacherMove.GENERIC


class TutoringTeacherMind:
    """Tutors ``dialogue``'s problem by ``policy`` (see the module docs).

    Args:
        dialogue: The problem, its worked solution and the student's profile.
        policy: One of ``POLICIES``.
        decider: The learned model, for ``bridge`` and ``mathdial``.
        rounds: The student replies after which the teacher stops.
    """

    def __init__(
        self,
        dialogue: MathDialDialogue,
        policy: Policy,
        *,
        decider: MoveDecider | None = None,
        rounds: int = 8,
    ) -> None:
        if policy in ("bridge", "mathdial") and decider is None:
            raise ValueError(f"policy {policy!r} needs its learned model (decider=)")
        self.dialogue = dialogue
        self.problem = TuteeProblem.of(
            dialogue.question, dialogue.ground_truth, dialogue.student_incorrect_solution
        )
        self.policy = policy
        self.decider = decider
        self.rounds = rounds
        self.name = (dialogue.student_profile.split() or ["there"])[0]

    def new_state(self) -> TutorMemory:
        return TutorMemory()

    @staticmethod
    def _student_turns(turn: TurnState) -> list[str]:
        me = turn.persona.name
        lines = [line.partition(": ") for line in turn.history]
        return [text for sender, _, text in lines if sender not in (me, "user")]

    def _next_step(self, turn: TurnState) -> int | None:
        said = set().union(*(find_numbers(t) for t in self._student_turns(turn)))
        for i, step in enumerate(self.problem.steps):
            if step.result is not None and not any(get_match(n, _plain(step.result)) for n in said):
                return i
        return None

    def _solved(self, turn: TurnState) -> bool:
        replies = self._student_turns(turn)
        return bool(replies) and get_match(replies[-1], self.problem.answer_text)

    async def think(self, turn: TurnState, ctx: ModelContext) -> ThoughtVars:
        if isinstance(turn.message, TaskAssignment):
            return ThoughtVars(knowledge="not heard yet", guideline="ask for their solution")
        if self._solved(turn):
            return ThoughtVars(knowledge="states the answer", guideline="confirm and stop")
        step = self._next_step(turn)
        where = "every step" if step is None else f"up to step {step + 1}"
        return ThoughtVars(knowledge=f"has stated {where}", guideline=f"policy {self.policy}")

    def _decide(self, turn: TurnState) -> TeacherMove:
        memory = run_state(turn, TutorMemory)
        match self.policy:
            case "telling_first":
                return TeacherMove.TELLING
            case "probing_first":
                if memory.replies <= 1:
                    return TeacherMove.PROBING
                return TeacherMove.TELLING if memory.stuck >= PATIENCE else TeacherMove.FOCUS
            case _:
                assert self.decider is not None
                lines = [line.partition(": ") for line in turn.history]
                me = turn.persona.name
                talk = [("tutor" if s == me else "student", t) for s, _, t in lines if s != "user"]
                return self.decider.decide(conversation_text(talk))

    async def plan(self, turn: TurnState, tools: list[ToolInfo], ctx: ModelContext) -> PlanOut:
        memory = run_state(turn, TutorMemory)
        if isinstance(turn.message, TaskAssignment):
            return PlanOut(rationale="open as MathDial does")
        memory.replies += 1
        if self._solved(turn) or memory.replies >= self.rounds:
            return PlanOut(rationale="the student states the answer, or the rounds are spent")
        step = self._next_step(turn)
        memory.stuck = memory.stuck + 1 if step == memory.focused and step is not None else 0
        memory.focused = step
        move = memory.move = self._decide(turn)
        call = PlannedCall(tool="teacher_moves", arguments={"move": move.value})
        return PlanOut(calls=[call], rationale=f"policy {self.policy}; move {move.value}")

    async def execute(self, turn: TurnState, kinds: list[str], ctx: ModelContext) -> Reply:
        if isinstance(turn.message, TaskAssignment):
            return Reply(kind="question", text=opening(self.name))
        memory = run_state(turn, TutorMemory)
        if self._solved(turn):
            return Reply(kind="stop", text=f"Yes, {self.problem.answer_text} is right.")
        if memory.replies >= self.rounds:
            return Reply(kind="stop", text="out of rounds")
        return self._say(memory.move, turn)

    def _say(self, move: TeacherMove, turn: TurnState) -> Reply:
        step = self._next_step(turn)
        steps = self.problem.steps
        match move:
            case TeacherMove.TELLING:
                if step is None:
                    return Reply(
                        kind="explanation", text=f"The answer is {self.problem.answer_text}."
                    )
                return Reply(kind="explanation", text=steps[step].text)
            case TeacherMove.FOCUS:
                if step is None:
                    return Reply(
                        kind="question", text="So what is the final answer to the question?"
                    )
                head = steps[step].text.rpartition("=")[0].strip() or steps[step].text
                return Reply(kind="question", text=f"Let's go step by step. {head} = ?")
            case TeacherMove.PROBING:
                replies = self._student_turns(turn)
                wrong = [
                    n for n in find_numbers(replies[-1] if replies else "") if self._is_wrong(n)
                ]
                if wrong:
                    return Reply(
                        kind="question",
                        text=f"How did you get {wrong[0]}? Can you explain that step?",
                    )
                return Reply(kind="question", text="Can you explain how you got your answer?")
            case _:
                return Reply(kind="hint", text="Okay. Keep going, one step at a time.")

    def _is_wrong(self, number: str) -> bool:
        known = self.problem.givens | {s.result for s in self.problem.steps if s.result is not None}
        return not any(get_match(number, _plain(v)) for v in known)

"""The students a MathDial teacher tutors: the simulated tutee and an LM student.

Both are agents that answer every teacher turn (``Question``, ``Hint``, ``Explanation``:
they read its text, never its kind) with an ``Answer`` to the teacher.

- :class:`SimulatedTutee` runs ``personas.minds.tutee.TuteeModel`` (documented there; a
  simulation), its randomness from the run's seeded ``ctx.rng``.
- :class:`LMTutee` is MathDial's LM student: the ``mathdial_student`` prompt (MathDial's
  student prompt: persona, problem, incorrect solution, the dialogue so far), completed
  greedily by any model client through ``ctx.complete`` (budgeted, recorded) and stopped
  at the next ``Teacher:``; ``Student:``, the student's name and ``<EOM>`` are removed
  from the reply, as MathDial does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from agents.agent import RunContext
from agents.eval.mathdial_metrics import utterance
from personas.learned.mathdial import MathDialDialogue
from personas.minds.tutee import TuteeModel, TuteeParams, TuteeState
from personas.minds.tutee_problem import TuteeProblem
from personas.prompting import MathDialStudentVars, render_prompt
from personas.state import run_state
from protocols import (
    Answer,
    Envelope,
    Explanation,
    Hint,
    Message,
    ModelClient,
    ModelRequest,
    Question,
)

__all__ = ["LMTutee", "LMTuteeState", "SimulatedTutee", "student_name"]

STOP = ("Teacher:", "teacher:")
"""Where MathDial stops its student's completion."""
MAX_TOKENS = 512


def student_name(dialogue: MathDialDialogue) -> str:
    """The student's name: the first word of its profile (``"Mariana is a 7th grade
    student…"``)."""
    words = dialogue.student_profile.split()
    return words[0] if words else "Student"


def _teacher_text(message: Message) -> str | None:
    match message:
        case Question(text=text) | Hint(text=text) | Explanation(text=text):
            return text
        case _:
            return None


class SimulatedTutee:
    """A simulated MathDial student (``TuteeModel``) for one dialogue's problem.

    Args:
        name: The agent name.
        dialogue: The problem, worked solution and the student's incorrect solution.
        params: The tutee's parameters (default: ``TuteeParams()``).
    """

    def __init__(
        self, name: str, dialogue: MathDialDialogue, params: TuteeParams | None = None
    ) -> None:
        self.name = name
        problem = TuteeProblem.of(
            dialogue.question, dialogue.ground_truth, dialogue.student_incorrect_solution
        )
        self.model = TuteeModel(problem, params)
        self.emits = (Answer,)

    def new_state(self) -> TuteeState:
        return TuteeState()

    async def handle(self, message: Message, ctx: RunContext) -> Sequence[Envelope]:
        text = _teacher_text(message)
        if text is None:
            return []
        reply = self.model.respond(text, run_state(ctx, TuteeState), ctx.rng)
        return [Answer(to=message.sender, text=reply)]


@dataclass
class LMTuteeState:
    """The dialogue so far, as MathDial's ``"Role: text"`` utterances."""

    history: list[str] = field(default_factory=list)


class LMTutee:
    """MathDial's LM student on one dialogue's problem.

    Args:
        name: The agent name.
        dialogue: The problem, the incorrect solution and the student's profile.
        client: The model (any client that completes text).
    """

    def __init__(self, name: str, dialogue: MathDialDialogue, client: ModelClient) -> None:
        self.name = name
        self.dialogue = dialogue
        self.client = client
        self.student = student_name(dialogue)
        self.emits = (Answer,)

    def new_state(self) -> LMTuteeState:
        return LMTuteeState()

    def prompt(self, history: Sequence[str]) -> str:
        """The student prompt after ``history``."""
        variables = MathDialStudentVars(
            persona=self.dialogue.student_profile,
            problem=self.dialogue.question,
            solution=self.dialogue.student_incorrect_solution,
            name=self.student,
            history=list(history),
        )
        return render_prompt("mathdial_student", variables)

    def clean(self, text: str) -> str:
        """The reply as MathDial keeps it."""
        for tag in ("Student:", f"{self.student}:", "<EOM>"):
            text = text.replace(tag, "")
        return text.strip().strip("\n").strip()

    async def handle(self, message: Message, ctx: RunContext) -> Sequence[Envelope]:
        text = _teacher_text(message)
        if text is None:
            return []
        state = run_state(ctx, LMTuteeState)
        state.history.append(utterance("Teacher", text))
        prompt = self.prompt(state.history)
        request = ModelRequest.of(prompt, max_tokens=MAX_TOKENS, temperature=0.0, stop=STOP)
        response = await ctx.complete(self.client, request)
        reply = self.clean(response.text)
        state.history.append(utterance("Student", reply))
        return [Answer(to=message.sender, text=reply)]

"""One MathDial tutoring dialogue through the ``Runtime``: a teacher persona on
``TutoringTeacherMind`` tutors a student agent (simulated or LM), and the run's messages
become MathDial utterances, scored by success@k and telling@k.

The graph is teacher ⇄ student: the teacher's turns (``Question``, ``Hint``,
``Explanation``) go to the student, the student's ``Answer`` back. The run starts with a
``TaskAssignment`` to the teacher, which opens; it ends with the teacher's ``Stop`` (the
student stated the answer, or the rounds are spent) or on its budget.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from agents.agent import Agent
from agents.budget import Budget
from agents.eval.mathdial_metrics import MAX_K, at_k, numerical_answer, utterance
from agents.eval.tutoring_policies import MoveDecider, Policy, TutoringTeacherMind
from agents.graph import AgentGraph
from agents.runtime import Runtime
from personas import Persona, ToolRegistry, builtin_persona
from personas.learned.mathdial import MathDialDialogue
from personas.moves import moves_tool
from protocols import Answer, Explanation, Hint, Plan, Question, TaskAssignment

__all__ = ["Tutored", "run_seed", "tutor", "tutoring_graph"]


@dataclass(frozen=True)
class Tutored:
    """One tutoring run's outcome.

    Attributes:
        utterances: The dialogue as MathDial's ``"Role: text"`` utterances.
        decided: The move the teacher's policy decided for each turn after the opening.
        success: success@k for k = 1 … max_k.
        telling: telling@k for k = 1 … max_k.
        reason: Why the run stopped.
    """

    utterances: tuple[str, ...]
    decided: tuple[str, ...]
    success: tuple[bool, ...]
    telling: tuple[bool, ...]
    reason: str


def run_seed(seed: int, item: str) -> int:
    """The run seed of (``seed``, ``item``): a stable hash, so a unit's randomness is its
    own whatever order units run in."""
    return int(hashlib.sha256(f"{seed}:{item}".encode()).hexdigest()[:12], 16)


def tutoring_graph(
    dialogue: MathDialDialogue,
    policy: Policy,
    student: Agent,
    *,
    decider: MoveDecider | None = None,
    rounds: int = 8,
) -> AgentGraph:
    """The teacher persona (policy ``policy``) and ``student`` (an agent named
    ``"student"``)."""
    spec = builtin_persona("teacher")
    mind = TutoringTeacherMind(dialogue, policy, decider=decider, rounds=rounds)
    teacher = Persona(
        spec,
        mind,
        tools=ToolRegistry([moves_tool()]),
        kinds=["question", "hint", "explanation", "stop"],
    )
    return (
        AgentGraph()
        .add(teacher, student)
        .edge(teacher, student, kinds=[Question, Hint, Explanation])
        .edge(student, teacher, kinds=[Answer])
    )


async def tutor(
    dialogue: MathDialDialogue,
    policy: Policy,
    student: Agent,
    *,
    seed: int,
    decider: MoveDecider | None = None,
    rounds: int = 8,
    max_k: int = MAX_K,
) -> Tutored:
    """Run one dialogue (no run store) and score it."""
    graph = tutoring_graph(dialogue, policy, student, decider=decider, rounds=rounds)
    start = TaskAssignment(to="teacher", task="Tutor the student on their solution.")
    budget = Budget(turns=8 * rounds + 8, model_calls=2 * rounds + 2)
    result = await Runtime().run(graph, start, budget=budget, seed=seed)
    utterances: list[str] = []
    decided: list[str] = []
    for message in result.messages:
        match message:
            case Question() | Hint() | Explanation() if message.sender == "teacher":
                utterances.append(utterance("Teacher", message.text))
            case Answer() if message.sender == "student":
                utterances.append(utterance("Student", message.text))
            case Plan(calls=calls) if message.sender == "teacher":
                decided += [str(c.arguments["move"]) for c in calls if c.tool == "teacher_moves"]
    success, telling = at_k(utterances, numerical_answer(dialogue.ground_truth), max_k)
    return Tutored(tuple(utterances), tuple(decided), tuple(success), tuple(telling), result.reason)

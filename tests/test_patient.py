"""The simulated CBT patient reveals its cognitive model gradually, in its style."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agents import AgentGraph, Budget, FunctionAgent, Runtime
from knowledge_graph import GraphStore
from knowledge_graph.builders import cbt_graph
from personas.patient import SimulatedPatient, score_cognitive_model
from protocols import PatientUtterance, Question, UserError

from .conftest import require


@pytest.fixture(scope="module")
def kg() -> GraphStore:
    data = os.environ.get("LYCEUM_DATA_DIR")
    require(bool(data) and Path(data or "").is_dir(), "LYCEUM_DATA_DIR is not set")
    return cbt_graph(data)


def test_fields_are_revealed_by_the_kind_of_question_and_by_trust(kg: GraphStore) -> None:
    abe = SimulatedPatient("patient", kg, "patient:1-1").new_state()  # one interview
    assert abe.reply_to("What happened this week?") == "Thinking about bills."
    assert abe.reply_to("What went through your mind?") == "What if I run out of money?"
    assert abe.reply_to("Deep down, what does it say about you?") == (
        "I'd rather not get into that right now."
    )
    assert "core_belief" not in abe.revealed
    abe.reply_to("That sounds really hard. I understand.")
    abe.reply_to("It makes sense that you feel worn out.")
    core = abe.reply_to("Deep down, what does it say about you?")
    assert core == "I am incompetent. I am a failture."
    assert abe.revealed == {"situation", "automatic_thought", "core_belief", "emotion"}


@pytest.mark.parametrize(
    ("style", "starts"),
    [
        ("plain", "Thinking about bills."),
        ("upset", "Why does that matter? Thinking"),
        ("pleasing", "You're right to ask. Thinking"),
        ("verbose", "Thinking about bills. It's a long"),
    ],
)
def test_styles(kg: GraphStore, style: str, starts: str) -> None:
    assert (
        SimulatedPatient("p", kg, "patient:1-1", style=style)
        .new_state()
        .reply_to("What happened?")
        .startswith(starts)
    )


async def test_an_interview_as_a_run_and_scoring_the_trainee(kg: GraphStore) -> None:
    questions = iter(
        ["Hello, how are you?", "What happened?", "How did you feel?", "What did you do then?"]
    )

    def trainee(message, ctx):  # type: ignore[no-untyped-def]
        nxt = next(questions, None)
        return Question(to="patient", text=nxt) if nxt else None

    patient = SimulatedPatient("patient", kg, "patient:1-1")
    graph = (
        AgentGraph()
        .edge(FunctionAgent("trainee", trainee), patient, kinds=[Question])
        .edge(patient, "trainee", kinds=[PatientUtterance])
    )
    result = await Runtime().run(
        graph, Question(to="trainee", text="start the interview"), budget=Budget(turns=20)
    )
    said = [m.text for m in result.messages if isinstance(m, PatientUtterance)]
    assert said == [
        "I'm not sure what you mean.",
        "Thinking about bills.",
        "anxious, worried, fearful, scared, tense",
        "Continues to sit on couch; ruminates about his failures.",
    ]
    written = {
        "situation": "thinking about his bills",
        "emotion": "anxious and worried",
        "core_belief": "",
    }
    scores = score_cognitive_model(written, patient.model)
    assert scores["situation"] == pytest.approx(3 / 4)  # thinking, about, bills of 4 words
    assert scores["emotion"] == pytest.approx(2 / 6)  # anxious, worried of 6 words
    assert scores["core_belief"] == 0.0


def test_bad_arguments(kg: GraphStore) -> None:
    with pytest.raises(UserError, match="style must be one of"):
        SimulatedPatient("p", kg, "patient:1-1", style="angry")
    with pytest.raises(UserError, match="not a Patient node"):
        SimulatedPatient("p", kg, "patient:9-9")

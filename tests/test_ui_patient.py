"""The patient trainer page (AppTest): a trainee interviews the simulated patient, writes
the cognitive model, gets a field-by-field score with feedback, and the interview is
recorded as a run; two browser sessions do not share an interview."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from agents.store import SqlRunStore
from knowledge_graph.builders import sample_patient_graph
from personas import SimulatedPatient, score_cognitive_model
from personas.patient import embeddings_installed
from protocols import PatientUtterance, Question, Stop, TaskAssignment
from ui.trainer import FIELD_NAMES

from .conftest import require
from .test_patient import INTERVIEW, TRANSCRIPTS

DATA = os.environ.get("LYCEUM_DATA_DIR")
APP = str(Path(__file__).resolve().parents[1] / "ui" / "app.py")
QUESTIONS = INTERVIEW
REPLIES = [text for text, _ in TRANSCRIPTS["plain"]]
WRITTEN = {
    "situation": "A friend hadn't replied to her texts for a couple of days.",
    "emotion": "sad and anxious",
    "core_belief": "She believes she isn't good enough and that people will leave her.",
}


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    monkeypatch.setenv("LYCEUM_DB", url)
    monkeypatch.delenv("LYCEUM_DATA_DIR", raising=False)
    return url


def patient_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    return at.switch_page("views/patient.py").run()


def start(at: AppTest, style: str = "plain") -> AppTest:
    at.selectbox[1].select(style)
    return at.button[0].click().run()


def chat(at: AppTest) -> list[tuple[str, str]]:
    """The chat as shown: (who, text) per message."""
    return [(m.name, m.markdown[0].value) for m in at.chat_message]


def test_an_interview_is_scored_field_by_field_and_recorded_as_a_run(db: str) -> None:
    at = patient_page()
    assert not at.exception
    assert "Simulation" in at.info[0].value
    assert at.selectbox[0].options == ["Dana (the project's sample patient)"]
    start(at)
    for question in QUESTIONS:
        at.chat_input[0].set_value(question).run()
    assert chat(at) == [
        (who, text)
        for q, r in zip(QUESTIONS, REPLIES, strict=True)
        for who, text in (("user", q), ("assistant", r))
    ]
    for field, text in WRITTEN.items():
        at.text_area(key=f"patient_model_{field}").input(text)
    at.button[1].click().run()  # the form's submit: "Score my cognitive model"
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    scores = dict(zip(table["field"], table["score"], strict=True))
    patient = SimulatedPatient("patient", sample_patient_graph(), "patient:sample-1")
    truth = score_cognitive_model(WRITTEN, patient.model, said=REPLIES)
    assert scores == {FIELD_NAMES[f]: round(v, 2) for f, v in truth.items()}
    assert scores["Situation"] > 0.1 and scores["Automatic thought"] == 0.0
    feedback = dict(zip(table["field"], table["feedback"], strict=True))
    assert feedback["Automatic thought"] == "Left blank."
    assert feedback["Relevant history"] == (
        "Left blank; the patient never disclosed it: ask about it (deeper fields need more "
        "trust: listen and validate first)."
    )
    assert at.metric[0].value == f"{sum(scores.values()) / len(scores):.2f}"

    store = SqlRunStore(db)
    (run,) = store.list_runs()
    assert run.status == "completed"
    assert f"run {run.id}" in at.caption[-1].value
    messages = store.messages(run.id)
    assert isinstance(messages[0], TaskAssignment)
    said = [(m.sender, m.text) for m in messages if isinstance(m, Question | PatientUtterance)]
    assert said == [
        (who, text)
        for q, r in zip(QUESTIONS, REPLIES, strict=True)
        for who, text in (("trainee", q), ("patient", r))
    ]
    assert isinstance(messages[-1], Stop)
    assert messages[-1].detail.startswith("the trainee ended the interview after 7 questions")


def test_two_browser_sessions_have_their_own_interviews(db: str) -> None:
    one, two = patient_page(), patient_page()
    start(one, "upset")
    one.chat_input[0].set_value("What happened this week?").run()
    two.run()
    assert len(one.chat_message) == 2 and not two.chat_message
    assert two.button[0].label == "Start interview"
    start(two)
    two.chat_input[0].set_value("What happened this week?").run()
    assert chat(one)[1] == (
        "assistant",
        "Why do you need to know that? I don't see how this helps.",
    )
    assert chat(two)[1] == ("assistant", REPLIES[1])


def test_a_store_that_cannot_be_written_is_an_error_box(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("LYCEUM_DB", f"sqlite:///{blocked / 'runs.db'}")
    at = patient_page()
    start(at)
    at.chat_input[0].set_value("What happened this week?").run()
    at.button[1].click().run()
    assert not at.exception
    assert len(at.error) == 1 and "runs.db" in at.error[0].value


def test_the_patient_psi_profiles_when_the_data_folder_has_them(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    require(
        bool(DATA) and Path(DATA or "", "patient_psi", "profiles.json").is_file(),
        "LYCEUM_DATA_DIR is not set to the data folder with patient_psi/ (../shared/data)",
    )
    monkeypatch.setenv("LYCEUM_DATA_DIR", DATA or "")
    at = patient_page()
    assert at.selectbox[0].options[1:] == [
        "Abe (PATIENT-Ψ profile 1-1)",
        "Abe (PATIENT-Ψ profile 1-2)",
        "Abe (PATIENT-Ψ profile 1-3)",
    ]
    at.selectbox[0].select_index(1)
    start(at, "reserved")
    at.chat_input[0].set_value("What happened recently?").run()
    assert not at.exception
    assert len(chat(at)) == 2


def test_a_data_folder_without_the_patient_psi_files_is_a_warning(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LYCEUM_DATA_DIR", str(tmp_path))
    at = patient_page()
    assert not at.exception and not at.error
    (warning,) = at.warning
    assert "patient_psi/profiles.json is not in the data folder" in warning.value
    assert warning.value.endswith("Only the sample patient is offered.")
    assert at.selectbox[0].options == ["Dana (the project's sample patient)"]


@pytest.mark.slow
def test_scoring_by_meaning_credits_a_paraphrase(db: str) -> None:
    require(embeddings_installed(), "the embeddings extra is not installed (lyceum[embeddings])")
    at = patient_page()
    start(at)
    for question in QUESTIONS[:2]:
        at.chat_input[0].set_value(question).run()
    at.text_area(key="patient_model_situation").input(WRITTEN["situation"])
    at.radio(key="patient_scorer").set_value("embedding")
    at.button[1].click().run(timeout=120)
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    by_meaning = dict(zip(table["field"], table["score"], strict=True))["Situation"]
    patient = SimulatedPatient("patient", sample_patient_graph(), "patient:sample-1")
    by_wording = score_cognitive_model(
        {"situation": WRITTEN["situation"]}, patient.model, said=REPLIES[:2]
    )["situation"]
    assert by_meaning == pytest.approx(0.80, abs=0.05) and by_wording < 0.25
    assert at.caption[-2].value.startswith("Scored by meaning")

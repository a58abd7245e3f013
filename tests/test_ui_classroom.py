"""The Classroom page (AppTest): a lesson run live from the form is the library's run, stored
whole; its transcript, charts and the SIMULATION label show; a stopped run is recorded
interrupted with nothing lost; a real student answers the quiz and is graded; bad input is
an error box; two sessions never share a run."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from agents import Runtime, SqlRunStore
from agents.classroom import (
    ClassroomConfig,
    ModelEndpoint,
    RoleMinds,
    classroom_kg,
    classroom_view,
    roster,
    run_classroom,
)
from agents.models.fake_server import FakeOpenAIServer
from agents.store import RunRecord
from protocols import Answer, Mastery, Message, Question, Stop, transcript
from tests.conformance.backends import fake_model
from tests.uitest import no_trace, open_page, rerun_until
from ui.classroom_panel import MIXED_NOTE, transcript_lines
from ui.common import UISession

ROOT = Path(__file__).resolve().parents[1]
PAGE = "views/classroom.py"


def ended(at: AppTest) -> bool:
    return bool(at.success or at.error) or any("Stopped" in box.value for box in at.info)


def small_class(at: AppTest, *, students: int = 2, turns: int = 12, seed: int = 3) -> None:
    at.number_input(key="classroom_students").set_value(students).run()
    at.number_input(key="classroom_turns").set_value(turns)
    at.number_input(key="classroom_seed").set_value(seed)


def run_to_the_end(at: AppTest, db: str) -> tuple[RunRecord, list[Message]]:
    """Click Run, rerun until the page shows the end; the stored run and its messages."""
    at.button(key="classroom_run").click().run()
    rerun_until(at, ended)
    no_trace(at)
    [run] = SqlRunStore(db).list_runs()
    return run, SqlRunStore(db).messages(run.id)


def shown_lines(at: AppTest) -> list[str]:
    """The transcript's markdown lines on the page, in order."""
    lines: list[str] = []
    for block in at.markdown:
        lines += [line for line in block.value.split("  \n") if line.startswith("**")]
    return lines


def test_a_lesson_runs_live_and_is_the_librarys_run_stored_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = f"sqlite:///{tmp_path / 'app.db'}"
    at = open_page(PAGE, db, monkeypatch)
    no_trace(at)
    assert at.selectbox(key="classroom_lesson").options == ["fractions", "linear_equations"]
    small_class(at)
    at.selectbox(key="classroom_profile_1").set_value("strong")
    run, stored = run_to_the_end(at, db)
    assert not at.error, [e.value for e in at.error]
    assert run.status == "completed"
    assert at.success[0].value.startswith(f"Run {run.id[:12]} completed: lesson finished")
    students = (roster(2)[0], roster(2)[1].model_copy(update={"profile": "strong"}))
    config = ClassroomConfig(students=students, turns=12, seed=3)
    expected = asyncio.run(run_classroom(config, runtime=Runtime()))
    assert transcript(stored) == expected.transcript()

    view = classroom_view(stored)
    assert shown_lines(at) == [line for _, line in reversed(transcript_lines(view))]
    at.toggle(key="classroom_newest").set_value(False).run()
    assert shown_lines(at) == [line for _, line in transcript_lines(view)]
    assert not any("_thought_" in line or "_mastery_" in line for line in shown_lines(at))
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Students measured"] == "2" and metrics["Messages"] == str(len(stored))
    assert len(at.image) == 2, "quiz mastery, and the estimate next to the truth"
    assert any("SIMULATION" in w.value for w in at.warning)

    at.toggle(key="classroom_reasoning").set_value(True).run()
    with_reasoning = [line for _, line in transcript_lines(view, reasoning=True)]
    assert shown_lines(at)[: len(with_reasoning)] == with_reasoning
    assert any("_thought_" in line for line in with_reasoning)


def test_the_reviewer_gates_and_its_verdicts_show(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = f"sqlite:///{tmp_path / 'app.db'}"
    at = open_page(PAGE, db, monkeypatch)
    small_class(at, turns=8)
    at.checkbox(key="classroom_reviewer").check()
    view = classroom_view(run_to_the_end(at, db)[1])
    assert view.reviews, "the reviewer checked the teacher's explanations"
    metrics = {m.label: m.value for m in at.metric}
    counts = view.verdicts()
    assert metrics["Approved"] == str(counts["approved"])
    assert metrics["Changes requested"] == str(counts["changes requested"])
    verdicts = [
        m.value for m in at.markdown if m.value.startswith("`step ") and "**reviewer**" in m.value
    ]
    assert len(verdicts) == len(view.reviews)


def test_stopping_halfway_records_interrupted_with_nothing_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = f"sqlite:///{tmp_path / 'app.db'}"
    at = open_page(PAGE, db, monkeypatch)
    small_class(at, turns=200)
    at.number_input(key="classroom_pace").set_value(0.05)
    at.button(key="classroom_run").click().run()
    rerun_until(at, lambda a: len(shown_lines(a)) > 5)
    at.button(key="classroom_stop").click().run()
    rerun_until(at, ended)
    no_trace(at)
    assert not at.error and not at.success
    assert "recorded as interrupted" in next(b.value for b in at.info if "Stopped" in b.value)

    [run] = SqlRunStore(db).list_runs()
    assert run.status == "interrupted"
    stored = SqlRunStore(db).messages(run.id)
    assert isinstance(stored[-1], Stop) and stored[-1].reason == "interrupted"
    live = at.session_state["lyceum"].extra["classroom_job"]
    assert transcript(live.messages) == transcript(stored)


def test_a_real_student_joins_answers_the_quiz_and_is_graded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = f"sqlite:///{tmp_path / 'app.db'}"
    at = open_page(PAGE, db, monkeypatch)
    small_class(at, students=1, turns=3)
    at.text_input(key="classroom_human").input("zoe")
    at.button(key="classroom_run").click().run()
    kg = classroom_kg(ClassroomConfig())
    answered: list[str] = []
    while True:
        rerun_until(at, lambda a: ended(a) or bool(a.text_input(key="classroom_answer")))
        if ended(at):
            break
        question = at.session_state["lyceum"].extra["classroom_job"].human.waiting_on
        assert isinstance(question, Question) and question.item_id is not None
        node = kg.node(question.item_id)
        assert node is not None
        answered.append(question.item_id)
        at.text_input(key="classroom_answer").input(str(node.properties["answer"]))
        at.button(key="classroom_send").click().run()
    no_trace(at)
    assert at.success, [e.value for e in at.error]
    [run] = SqlRunStore(db).list_runs()
    stored = SqlRunStore(db).messages(run.id)
    mine = [m for m in stored if isinstance(m, Answer) and m.sender == "zoe"]
    assert [m.item_id for m in mine] == answered and len(answered) >= 1
    graded = [
        m for m in stored if isinstance(m, Mastery) and m.student == "zoe" and m.source == "quiz"
    ]
    assert graded and all(m.sender == "director" for m in graded)
    assert all(v == pytest.approx(1.0) for m in graded for v in m.values.values())


def test_a_bad_upload_is_an_error_box(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page(PAGE, f"sqlite:///{tmp_path / 'app.db'}", monkeypatch)
    at.file_uploader(key="classroom_upload").upload("class.yaml", b"lesson: fractions\nturns: 0\n")
    at.button(key="classroom_run").click().run()
    no_trace(at)
    assert at.error[0].value.startswith("class.yaml:2: field 'turns'"), at.error[0].value
    at.file_uploader(key="classroom_upload").set_value(("c.yaml", b"lesson: poetry\n", "text/yaml"))
    at.button(key="classroom_run").click().run()
    no_trace(at)
    assert "unknown lesson 'poetry'" in at.error[0].value and "fractions" in at.error[0].value
    assert "classroom_job" not in at.session_state["lyceum"].extra


@pytest.mark.allow_model_requests
def test_an_unreachable_endpoint_is_an_error_box(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = f"sqlite:///{tmp_path / 'app.db'}"
    at = open_page(PAGE, db, monkeypatch)
    at.session_state["lyceum"] = UISession(
        endpoint=ModelEndpoint(base_url="http://127.0.0.1:9/v1", model="nobody"),
        minds=RoleMinds(teacher="llm"),
    )
    small_class(at, students=1, turns=2)
    at.button(key="classroom_run").click().run()
    rerun_until(at, ended, seconds=60)
    no_trace(at)
    assert at.error and at.error[0].value.startswith("The run stopped on an error:")
    assert "127.0.0.1:9" in at.error[0].value
    assert [w.value for w in at.warning] == [MIXED_NOTE], "simulated students, an LLM teacher"
    [run] = SqlRunStore(db).list_runs()
    assert run.status == "error"


@pytest.mark.allow_model_requests
def test_with_the_models_page_s_endpoint_the_roles_run_on_an_llm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The endpoint and minds the Models page keeps in the session reach the run: the
    teacher and classmates call the (loopback, schema-enforcing) server, the key from the
    environment variable it names."""
    monkeypatch.setenv("CLASS_KEY", "sk-class")
    db = f"sqlite:///{tmp_path / 'app.db'}"
    with FakeOpenAIServer(fake_model("vllm"), mode="vllm") as server:
        at = open_page(PAGE, db, monkeypatch)
        endpoint = ModelEndpoint(base_url=server.base_url, model="fake", api_key_env="CLASS_KEY")
        at.session_state["lyceum"] = UISession(
            endpoint=endpoint, minds=RoleMinds(teaching_assistant="simulated")
        )
        at.run()
        caption = next(c.value for c in at.caption if c.value.startswith("Minds:"))
        assert caption.startswith(
            "Minds: teacher llm, teaching assistant simulated, classmates llm"
        )
        small_class(at, students=1, turns=6)
        at.multiselect(key="classroom_classmates").set_value(["deep_thinker"])
        run, _ = run_to_the_end(at, db)
        chats = [r for r in server.requests if r.path.endswith("/chat/completions")]
    assert run.status == "completed", run.stop_detail
    assert len(chats) == run.usage["model_calls"] > 0
    assert all(r.headers.get("Authorization") == "Bearer sk-class" for r in chats)
    config = ClassroomConfig.model_validate((run.graph_source or {})["kwargs"]["config"])
    assert config.model == endpoint and config.classmates == ("deep_thinker",)
    assert [w.value for w in at.warning] == [MIXED_NOTE]


def test_two_sessions_do_not_share_a_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = f"sqlite:///{tmp_path / 'app.db'}"
    first, second = open_page(PAGE, db, monkeypatch), open_page(PAGE, db, monkeypatch)
    small_class(first)
    first.button(key="classroom_run").click().run()
    rerun_until(first, ended)
    second.run()
    assert first.success and not second.success and not shown_lines(second)
    assert "classroom_job" not in second.session_state["lyceum"].extra
    assert first.session_state["lyceum"] is not second.session_state["lyceum"]


def test_no_page_shows_a_stray_string() -> None:
    """Streamlit "magic" writes any bare string expression of a page script to the page;
    only the module docstring is exempt."""
    for path in [ROOT / "ui" / "app.py", *sorted((ROOT / "ui" / "views").glob("*.py"))]:
        body = ast.parse(path.read_text()).body
        stray = [
            node.lineno
            for node in body[1:]
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        ]
        assert not stray, f"{path.relative_to(ROOT)}: bare strings at lines {stray}"

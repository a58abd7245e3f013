"""The Runs page (AppTest): stored runs listed and filtered, one opened with its transcript
stepped through (a classroom's charts as of that step), a replay that reproduces it, and
errors as boxes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from agents import AgentGraph, FunctionAgent, Runtime, SqlRunStore
from agents.classroom import ClassroomConfig, classroom_view, roster, run_classroom
from agents.cli import render_message
from agents.demo import build_lesson_graph, start_message
from protocols import Answer, TaskAssignment
from tests.uitest import no_trace, open_page

PAGE = "views/runs.py"


@pytest.fixture
def db(tmp_path: Path) -> str:
    """A store with a demo lesson, a classroom run and a run of a graph built in Python
    whose factory is not registered."""
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    runtime = Runtime(url)
    asyncio.run(runtime.run(build_lesson_graph("novice"), start_message(), seed=1))
    config = ClassroomConfig(students=tuple(roster(2)), turns=10, seed=2)
    asyncio.run(run_classroom(config, runtime=runtime))
    echo = FunctionAgent("echo", lambda m, ctx: [Answer(text="pong", to="user")])
    graph = AgentGraph().add(echo)
    graph.source = {"factory": "somebody.elses:graph"}
    asyncio.run(runtime.run(graph, TaskAssignment(to="echo", task="ping")))
    return url


def listed(at: AppTest) -> list[str]:
    return list(at.selectbox(key="runs_open").options)


def test_runs_are_listed_and_filtered(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page(PAGE, db, monkeypatch)
    no_trace(at)
    runs = SqlRunStore(db).list_runs()
    assert len(listed(at)) == 3 and at.dataframe[0].value["run"].tolist() == [
        r.id[:12] for r in runs
    ]
    by_graph = {str((r.graph_source or {}).get("factory")): r.id for r in runs}
    classroom = by_graph["agents.classroom.graph:build_classroom_graph"]

    at.selectbox(key="runs_graph").set_value("agents.classroom.graph:build_classroom_graph").run()
    assert [o.split(" · ")[0] for o in listed(at)] == [classroom[:12]]
    at.selectbox(key="runs_graph").set_value("any")
    at.text_input(key="runs_search").input("PING").run()
    assert [o.split(" · ")[0] for o in listed(at)] == [by_graph["somebody.elses:graph"][:12]]
    at.text_input(key="runs_search").input("")
    at.multiselect(key="runs_status").set_value(["interrupted"]).run()
    assert "runs_open" not in [w.key for w in at.selectbox]
    assert "No runs match" in at.info[0].value
    no_trace(at)


def open_run(at: AppTest, run_id: str) -> AppTest:
    option = next(o for o in listed(at) if o.startswith(run_id[:12]))
    return at.selectbox(key="runs_open").set_value(option).run()


def test_a_classroom_run_steps_through_with_its_charts(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SqlRunStore(db)
    run = next(r for r in store.list_runs() if "classroom" in str(r.graph_source))
    messages = store.messages(run.id)
    at = open_run(open_page(PAGE, db, monkeypatch), run.id)
    no_trace(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Status"] == "completed" and metrics["Stored messages"] == str(len(messages))
    assert metrics["Steps begun"] == str(len(classroom_view(messages).steps))
    assert len(at.image) == 2 and any("SIMULATION" in w.value for w in at.warning)

    at.slider(key="runs_step").set_value(20).run()
    partial = classroom_view(messages[:20])
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Steps begun"] == str(len(partial.steps)) and metrics["Messages"] == "20"
    at.button(key="runs_prev").click().run()
    assert at.slider(key="runs_step").value == 19
    at.button(key="runs_next").click().run()
    at.button(key="runs_next").click().run()
    assert at.slider(key="runs_step").value == 21


def test_a_plain_run_shows_its_transcript_and_replays_identically(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SqlRunStore(db)
    run = next(r for r in store.list_runs() if "demo" in str(r.graph_source))
    at = open_run(open_page(PAGE, db, monkeypatch), run.id)
    lines = [m.value for m in at.markdown if m.value.startswith("`")]
    assert lines == [f"`{i}` {render_message(m)}" for i, m in enumerate(store.messages(run.id))]
    at.button(key="runs_replay").click().run()
    no_trace(at)
    assert at.success and "the transcript is identical" in at.success[0].value
    assert len(store.list_runs()) == 4, "the replay is a run of its own"


def test_replaying_an_unregistered_graph_is_an_error_box(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = next(r for r in SqlRunStore(db).list_runs() if "somebody" in str(r.graph_source))
    at = open_run(open_page(PAGE, db, monkeypatch), run.id)
    at.button(key="runs_replay").click().run()
    no_trace(at)
    assert "not registered" in at.error[0].value and "somebody.elses:graph" in at.error[0].value


def test_an_empty_or_unreadable_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page(PAGE, f"sqlite:///{tmp_path / 'empty.db'}", monkeypatch)
    no_trace(at)
    assert "No runs match" in at.info[0].value
    at = open_page(PAGE, "nosuchdb://x", monkeypatch)
    no_trace(at)
    assert at.error and "nosuchdb" in at.error[0].value

"""The run store: one conformance suite on SQLite and PostgreSQL, migrations, crash safety."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, create_engine, update

from agents.store import ModelCallRecord, RunRecord, RunStore
from agents.store.tables import Base, RunRow
from protocols import (
    Answer,
    ModelCallFinished,
    Question,
    RunStarted,
    Stop,
    StoreError,
    UserError,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def make_run(run_id: str, created: datetime = T0) -> RunRecord:
    return RunRecord(
        id=run_id,
        created_at=created,
        seed=3,
        budget={"turns": 5, "model_calls": 2, "tokens": None, "seconds": 9.5},
        graph_mermaid='flowchart LR\n    a["a"]',
        graph_source={"factory": "m:f", "kwargs": {}},
        initial_message=Question(
            id=f"m-{run_id}", to="a", text="hi", run_id=run_id, timestamp=created
        ),
    )


@pytest.fixture
def store(store_url: str) -> Iterator[RunStore]:
    with RunStore(store_url) as opened:
        yield opened


@contextmanager
def raw(url: str) -> Iterator[Connection]:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


# -- conformance: every backend passes the same tests ---------------------------------------
def test_runs_round_trip(store: RunStore) -> None:
    store.create_run(make_run("r1"))
    record = store.get_run("r1")
    assert record.status == "running" and record.stop_reason is None
    assert record.seed == 3 and record.budget["seconds"] == 9.5
    assert record.initial_message == Question(
        id="m-r1", to="a", text="hi", run_id="r1", timestamp=T0
    )
    assert record.created_at == T0
    store.finish_run(
        "r1", status="stopped", reason="max_turns", detail="5 turns", usage={"turns": 5}
    )
    record = store.get_run("r1")
    assert (record.status, record.stop_reason, record.stop_detail) == (
        "stopped",
        "max_turns",
        "5 turns",
    )
    assert record.usage == {"turns": 5} and record.finished_at is not None


def test_messages_round_trip_in_order(store: RunStore) -> None:
    store.create_run(make_run("r1"))
    sent = [
        Question(to="b", text="2+2?", sender="a", run_id="r1", timestamp=T0),
        Answer(to="a", text="4", confidence=0.75, sender="b", run_id="r1", timestamp=T0),
        Stop(reason="completed", detail="done", sender="a", run_id="r1", timestamp=T0),
    ]
    for seq, message in enumerate(sent):
        store.add_message("r1", seq, message)
    assert store.messages("r1") == sent
    assert store.get_run("r1").message_count == 3


def test_model_calls_and_events_round_trip(store: RunStore) -> None:
    store.create_run(make_run("r1"))
    call = ModelCallRecord(
        id="c1",
        run_id="r1",
        seq=1,
        agent="a",
        client="FunctionModel(f)",
        model="f",
        request_hash="ab" * 32,
        request={"op": "complete", "messages": []},
        response={"text": "4"},
        status="ok",
        latency_ms=1.5,
        prompt_tokens=3,
        completion_tokens=1,
        attempts=2,
        created_at=T0,
    )
    store.add_model_call(call)
    assert store.model_calls("r1") == [call]
    events = [
        RunStarted(run_id="r1", graph="g", budget={}, seed=0, timestamp=T0),
        ModelCallFinished(run_id="r1", call_id="c1", agent="a", latency_ms=1.5, timestamp=T0),
    ]
    for seq, ev in enumerate(events, 1):
        store.add_event("r1", seq, ev)
    assert store.events("r1") == events


def test_list_is_newest_first_and_ids_resolve_by_unique_prefix(store: RunStore) -> None:
    store.create_run(make_run("abc111", T0))
    store.create_run(make_run("abc222", T0 + timedelta(minutes=1)))
    store.create_run(make_run("xyz333", T0 + timedelta(minutes=2)))
    assert [r.id for r in store.list_runs()] == ["xyz333", "abc222", "abc111"]
    assert [r.id for r in store.list_runs(limit=1)] == ["xyz333"]
    assert store.get_run("xyz").id == "xyz333"
    with pytest.raises(UserError, match="no run is uniquely matched by 'abc'"):
        store.get_run("abc")
    with pytest.raises(UserError, match="no run matches 'nope'"):
        store.get_run("nope")


def test_an_id_is_matched_literally_whatever_its_length(store: RunStore) -> None:
    store.create_run(make_run("xyz333", T0))
    for pattern in ("%", "x_z", "%3"):  # LIKE wildcards match nothing but themselves
        with pytest.raises(UserError, match="no run matches"):
            store.get_run(pattern)
    with pytest.raises(UserError) as info:
        store.get_run("x" * 100_000)
    assert str(info.value).startswith(f"no run matches '{'x' * 76}...(100002 characters) in ")
    assert len(str(info.value)) < 300


def test_a_run_whose_process_died_is_reported_interrupted(store: RunStore) -> None:
    store.create_run(make_run("r1"))
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    with raw(store.url) as conn:
        conn.execute(update(RunRow).values(pid=int(dead.stdout)))
    record = store.get_run("r1")
    assert (record.status, record.stop_reason) == ("interrupted", "interrupted")
    assert f"process {int(dead.stdout)}" in (record.stop_detail or "")
    assert store.get_run("r1").status == "interrupted"  # persisted, not recomputed


def test_a_run_from_another_host_is_interrupted_once_its_heartbeat_is_stale(
    store: RunStore,
) -> None:
    store.stale_after = timedelta(minutes=5)
    store.create_run(make_run("r1"))
    with raw(store.url) as conn:
        conn.execute(update(RunRow).values(host="elsewhere", heartbeat_at=datetime.now(UTC)))
    assert store.get_run("r1").status == "running"
    with raw(store.url) as conn:
        conn.execute(update(RunRow).values(heartbeat_at=datetime.now(UTC) - timedelta(minutes=6)))
    assert store.get_run("r1").status == "interrupted"


def test_migrations_match_the_models(store: RunStore) -> None:
    store.init()
    with raw(store.url) as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


# -- SQLite specifics -------------------------------------------------------------------------
def test_a_corrupt_store_file_is_a_clear_error_and_is_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    garbage = b"this is not a database\n" * 200
    path.write_bytes(garbage)
    with pytest.raises(StoreError) as info:
        RunStore(str(path)).list_runs()
    message = str(info.value)
    assert str(path) in message and "file is not a database" in message
    assert "Move it aside, or pass --db / LYCEUM_DB" in message
    assert path.read_bytes() == garbage
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs.db"]


def test_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist; create"):
        RunStore(str(tmp_path / "no" / "runs.db")).init()


def test_a_bad_url_is_a_clear_error() -> None:
    with pytest.raises(UserError, match="cannot parse store URL"):
        RunStore("postgresql+psycopg://user@host:notaport/db")


# -- crashes ------------------------------------------------------------------------------------
SLOW_RUN = textwrap.dedent("""
    import asyncio, sys
    from agents import AgentGraph, Budget, FunctionAgent, Runtime
    from protocols import Question

    async def talk(message, ctx):
        await asyncio.sleep(0.02 if int(message.text) < 3 else 3600)
        return Question(to="b" if ctx.agent == "a" else "a", text=str(int(message.text) + 1))

    a, b = FunctionAgent("a", talk), FunctionAgent("b", talk)
    graph = AgentGraph().edge(a, b).edge(b, a)
    asyncio.run(Runtime(sys.argv[1]).run(graph, Question(to="a", text="0"),
                                         budget=Budget(turns=100, seconds=3600)))
""")


def start_slow_run(db: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_RUN, str(db)],
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    with RunStore(str(db)) as store:
        while time.monotonic() < deadline:
            runs = store.list_runs() if db.exists() else []
            if runs and runs[0].message_count >= 4:
                return proc
            time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"the run did not start: {proc.communicate()}")


def lyceum(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agents.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=120,
    )


def test_a_run_killed_with_sigkill_is_shown_as_interrupted(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    proc = start_slow_run(db)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    with RunStore(str(db)) as store:
        (run,) = store.list_runs()
    shown = lyceum("runs", "show", run.id, "--db", str(db))
    assert shown.returncode == 0, shown.stderr
    assert "status: interrupted" in shown.stdout
    assert "ended without stopping the run (killed?)" in shown.stdout
    assert "user → a  Question: 0" in shown.stdout
    assert "b → a  Question: 2" in shown.stdout  # finished work is kept
    with RunStore(str(db)) as store:
        messages = store.messages(run.id)
    assert [getattr(m, "text", None) for m in messages] == ["0", "1", "2", "3"]


def test_ctrl_c_stops_a_run_as_interrupted_with_a_typed_stop(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    proc = start_slow_run(db)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0 and "KeyboardInterrupt" in err
    with RunStore(str(db)) as store:
        (run,) = store.list_runs()
        last = store.messages(run.id)[-1]
    assert (run.status, run.stop_reason) == ("interrupted", "interrupted")
    assert run.stop_detail == "cancelled (Ctrl-C or task cancellation)"
    assert isinstance(last, Stop) and last.reason == "interrupted" and last.sender == "runtime"

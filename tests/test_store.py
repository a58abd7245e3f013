"""The SQL run store beyond the conformance suite: SQLite files, the step writer, crash
safety (SIGKILL, Ctrl-C)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from agents import AgentGraph, Budget, FunctionAgent, Runtime
from agents.store import ModelCallRecord, RunRecord, SqlRunStore, StepRecord
from agents.store.store import RUN_STORE
from knowledge_graph import SqlGraphStore
from knowledge_graph.sql import GRAPH_STORE
from protocols import Event, Message, Question, Stop, StoreError, UserError
from protocols.sql import (
    GRAPH_STORE_LOCK,
    RUN_STORE_LOCK,
    SQLITE_BUSY_TIMEOUT_MS,
    StoreSchema,
    open_engine,
)

from .test_run_store_conformance import counting_graph


# -- SQLite specifics -------------------------------------------------------------------------
def test_a_corrupt_store_file_is_a_clear_error_and_is_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    garbage = b"this is not a database\n" * 200
    path.write_bytes(garbage)
    with pytest.raises(StoreError) as info:
        SqlRunStore(str(path)).list_runs()
    message = str(info.value)
    assert str(path) in message and "file is not a database" in message
    assert "Move it aside, or pass --db / LYCEUM_DB" in message
    assert path.read_bytes() == garbage
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs.db"]


def test_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist; create"):
        SqlRunStore(str(tmp_path / "no" / "runs.db")).init()


def test_a_bad_url_is_a_clear_error() -> None:
    with pytest.raises(UserError, match="cannot parse run store URL"):
        SqlRunStore("postgresql+psycopg://user@host:notaport/db")


@pytest.mark.parametrize("store", ["run", "graph"])
def test_both_stores_leave_a_corrupt_file_untouched(tmp_path: Path, store: str) -> None:
    path = tmp_path / "lyceum.db"
    garbage = b"this is not a database\n" * 200
    path.write_bytes(garbage)
    with pytest.raises(StoreError) as info:
        if store == "run":
            SqlRunStore(str(path)).list_runs()
        else:
            SqlGraphStore(str(path)).stats()
    assert str(info.value).startswith(f"cannot open the {store} store {path}: ")
    assert "it was left untouched" in str(info.value)
    assert path.read_bytes() == garbage
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lyceum.db"]


def test_the_graph_store_names_a_missing_folder_too(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"the folder of the graph store .* does not exist"):
        SqlGraphStore(str(tmp_path / "no" / "kg.db")).stats()


@pytest.mark.parametrize("schema", [RUN_STORE, GRAPH_STORE], ids=["run", "graph"])
def test_every_store_sets_up_sqlite_connections_alike(tmp_path: Path, schema: StoreSchema) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'lyceum.db'}", schema)
    with engine.connect() as conn:
        pragmas = [
            conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("foreign_keys", "busy_timeout", "journal_mode", "synchronous")
        ]
    engine.dispose()
    assert pragmas == [1, SQLITE_BUSY_TIMEOUT_MS, "wal", 1]  # synchronous 1 is NORMAL
    assert {RUN_STORE.lock, GRAPH_STORE.lock} == {RUN_STORE_LOCK, GRAPH_STORE_LOCK}
    assert RUN_STORE_LOCK != GRAPH_STORE_LOCK


async def test_an_in_memory_store_is_one_database_for_the_writer_and_the_reader() -> None:
    runtime = Runtime(":memory:")
    result = await runtime.run(counting_graph(3), Question(to="a", text="0"))
    assert runtime.store is not None
    assert runtime.store.messages(result.run_id) == result.messages
    assert runtime.store.get_run(result.run_id).status == "completed"


# -- the step writer ----------------------------------------------------------------------------
BIG = Budget(turns=1000, model_calls=1000, seconds=600)


class WatchedStore(SqlRunStore):
    """A SQL store that notes which threads call it and every step written to it, and can
    refuse the step that holds message ``fail_at`` (a full disk, say)."""

    def __init__(self, url: str, fail_at: int | None = None) -> None:
        super().__init__(url)
        self.fail_at = fail_at
        self.threads: set[int] = set()
        self.steps: list[StepRecord] = []

    def create_run(self, run: RunRecord) -> None:
        self.threads.add(threading.get_ident())
        super().create_run(run)

    def write_steps(self, steps: Sequence[StepRecord]) -> None:
        self.threads.add(threading.get_ident())
        if any(seq == self.fail_at for step in steps for seq, _ in step.messages):
            raise StoreError("disk full (simulated)")
        super().write_steps(steps)
        self.steps.extend(steps)

    def get_run(self, run_id: str) -> RunRecord:
        self.threads.add(threading.get_ident())
        return super().get_run(run_id)

    def messages(self, run_id: str) -> list[Message]:
        self.threads.add(threading.get_ident())
        return super().messages(run_id)

    def model_calls(self, run_id: str) -> list[ModelCallRecord]:
        self.threads.add(threading.get_ident())
        return super().model_calls(run_id)


async def test_the_event_loop_never_waits_on_the_database(tmp_path: Path) -> None:
    store = WatchedStore(str(tmp_path / "runs.db"))
    runtime = Runtime(store)
    result = await runtime.run(counting_graph(5), Question(to="a", text="0"), budget=BIG)
    report = await runtime.replay(result.run_id, counting_graph(5))
    threads = set(store.threads)
    assert report.identical
    assert threads and threading.get_ident() not in threads


async def test_each_step_is_written_whole_with_its_messages_events_and_model_calls(
    tmp_path: Path,
) -> None:
    store = WatchedStore(str(tmp_path / "runs.db"))
    result = await Runtime(store).run(counting_graph(3), Question(to="a", text="0"), budget=BIG)
    call = ["model_call_started", "model_call_finished"]
    assert [
        (
            [seq for seq, _ in step.messages],
            [c.seq for c in step.model_calls],
            [e.kind for _, e in step.events],
            step.finish.status if step.finish else None,
        )
        for step in store.steps
    ] == [
        ([0], [], ["run_started", "message_sent"], None),
        ([1], [1], [*call, "message_sent"], None),
        ([2], [2], [*call, "message_sent"], None),
        ([3], [3], [*call, "message_sent", "run_stopped"], "completed"),
    ]
    assert store.messages(result.run_id) == result.messages


async def test_a_message_is_stored_once_and_its_event_points_to_it(tmp_path: Path) -> None:
    """The events table keeps a ``MessageSent``'s message id, not a second copy of the
    message; ``events()`` gives back exactly the events the observer saw live."""
    db = tmp_path / "runs.db"
    seen: list[Event] = []
    text = "a message text long enough to find " * 3
    result = await Runtime(str(db)).run(
        AgentGraph().add(FunctionAgent("a", lambda m, ctx: Stop(detail="done"))),
        Question(to="a", text=text),
        observer=seen.append,
    )
    with sqlite3.connect(db) as conn:
        payloads = [row[0] for row in conn.execute("SELECT payload FROM events ORDER BY seq")]
        stored = [row[0] for row in conn.execute("SELECT payload FROM messages")]
    assert sum(text in p for p in stored) == 1
    assert not any(text in p for p in payloads)
    assert SqlRunStore(str(db)).events(result.run_id) == seen
    assert [e.kind for e in seen] == ["run_started", "message_sent", "message_sent", "run_stopped"]


async def test_a_failed_write_stops_the_run_and_keeps_the_steps_before_it(tmp_path: Path) -> None:
    store = WatchedStore(str(tmp_path / "runs.db"), fail_at=2)
    with pytest.raises(StoreError, match=r"disk full \(simulated\)"):
        await Runtime(store).run(counting_graph(6), Question(to="a", text="0"), budget=BIG)
    (run,) = store.list_runs()
    assert [getattr(m, "text", None) for m in store.messages(run.id)] == ["0", "1"]
    assert [c.seq for c in store.model_calls(run.id)] == [1]
    assert run.status == "running"  # until this process ends; then it reads "interrupted"


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


def start_run(db: Path, script: str = SLOW_RUN, messages: int = 4) -> subprocess.Popen[str]:
    """Start ``script`` in a process; return once the store holds ``messages`` messages."""
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(db)],
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    with SqlRunStore(str(db)) as store:
        while time.monotonic() < deadline:
            runs = store.list_runs() if db.exists() else []
            if runs and runs[0].message_count >= messages:
                return proc
            time.sleep(0.02)
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
    proc = start_run(db)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    with SqlRunStore(str(db)) as store:
        (run,) = store.list_runs()
    shown = lyceum("runs", "show", run.id, "--db", str(db))
    assert shown.returncode == 0, shown.stderr
    assert "status: interrupted" in shown.stdout
    assert "ended without stopping the run (killed?)" in shown.stdout
    assert "user → a  Question: 0" in shown.stdout
    assert "b → a  Question: 2" in shown.stdout  # finished work is kept
    with SqlRunStore(str(db)) as store:
        messages = store.messages(run.id)
    assert [getattr(m, "text", None) for m in messages] == ["0", "1", "2", "3"]


def test_ctrl_c_stops_a_run_as_interrupted_with_a_typed_stop(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    proc = start_run(db)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0 and "KeyboardInterrupt" in err
    with SqlRunStore(str(db)) as store:
        (run,) = store.list_runs()
        last = store.messages(run.id)[-1]
    assert (run.status, run.stop_reason) == ("interrupted", "interrupted")
    assert run.stop_detail == "cancelled (Ctrl-C or task cancellation)"
    assert isinstance(last, Stop) and last.reason == "interrupted" and last.sender == "runtime"


FAST_RUN = textwrap.dedent("""
    import asyncio, sys
    from agents import AgentGraph, Budget, FunctionAgent, Runtime
    from agents.models import FunctionModel, ModelRequest
    from protocols import Question

    model = FunctionModel(lambda request: "ok")

    async def talk(message, ctx):
        await ctx.complete(model, ModelRequest.of(message.text))
        return Question(to="b" if ctx.agent == "a" else "a", text=str(int(message.text) + 1))

    a, b = FunctionAgent("a", talk), FunctionAgent("b", talk)
    graph = AgentGraph().edge(a, b).edge(b, a)
    budget = Budget(turns=10**7, model_calls=10**7, seconds=3600)
    asyncio.run(Runtime(sys.argv[1]).run(graph, Question(to="a", text="0"), budget=budget))
""")


def test_a_store_opens_while_another_process_holds_the_write_lock(tmp_path: Path) -> None:
    """Regression: opening a store took SQLite's write lock to check its schema, so while a
    run was committing (or anything held the lock) a second process — the UI, a monitor —
    waited the whole busy timeout and failed: "database is locked. The file is not a lyceum
    SQLite store". A store at the newest schema is now opened without the lock."""
    db = tmp_path / "runs.db"
    with SqlRunStore(str(db)) as store:
        store.list_runs()  # creates the store at the newest schema
    writer = sqlite3.connect(db, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # what a committing run holds, here held on purpose
    try:
        with SqlRunStore(str(db)) as store:
            assert store.list_runs() == []
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_a_store_that_needs_its_schema_while_the_lock_is_held_says_so(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    writer = sqlite3.connect(db, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("BEGIN IMMEDIATE")  # a new file: the schema must be created, and cannot be
    try:
        with pytest.raises(StoreError) as raised, SqlRunStore(str(db)) as store:
            store.list_runs()
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert "another process held its write lock for over 10 s" in str(raised.value)
    assert "not a lyceum SQLite store" not in str(raised.value)


def test_a_run_killed_mid_run_keeps_every_committed_step_whole(tmp_path: Path) -> None:
    """The run never waits: it is killed while steps are being written. Each step holds
    one message, its model call and three events; the store must hold whole steps only."""
    db = tmp_path / "runs.db"
    proc = start_run(db, FAST_RUN, messages=50)
    proc.send_signal(signal.SIGKILL)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL, err
    with SqlRunStore(str(db)) as store:
        (run,) = store.list_runs()
        messages, calls, events = (
            store.messages(run.id),
            store.model_calls(run.id),
            store.events(run.id),
        )
    n = len(messages)
    assert n >= 50 and run.status == "interrupted"
    assert [getattr(m, "text", None) for m in messages] == [str(i) for i in range(n)]
    assert [c.seq for c in calls] == list(range(1, n))  # each message's call, no other
    assert [e.kind for e in events] == ["run_started", "message_sent"] + [
        "model_call_started",
        "model_call_finished",
        "message_sent",
    ] * (n - 1)
    shown = lyceum("runs", "show", run.id, "--db", str(db))
    assert shown.returncode == 0, shown.stderr
    assert "status: interrupted" in shown.stdout
    assert "ended without stopping the run (killed?)" in shown.stdout
    assert f"Question: {n - 1}" in shown.stdout

"""One conformance suite for every run store backend: SQLite and PostgreSQL.

Each test uses only the ``RunStore`` interface, except where it must fake what only the
database knows (another host's heartbeat), which is said where it happens. Runs written
through the ``Runtime`` (and its ``StepWriter``) are checked on every backend too.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, select, update

from agents import AgentGraph, Budget, FunctionAgent, RunContext, Runtime
from agents.models import FunctionModel, ModelRequest
from agents.store import (
    ModelCallRecord,
    RunFinish,
    RunRecord,
    RunStore,
    SqlRunStore,
    StepRecord,
)
from agents.store.tables import Base, RunRow
from protocols import (
    MESSAGE_KINDS,
    Answer,
    Envelope,
    Message,
    MessageSent,
    Question,
    RunStarted,
    RunStopped,
    Stop,
    StoreError,
    UserError,
    transcript,
)

from .test_messages import EVENT_CLASSES, model_strategy

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(store_url: str) -> Iterator[RunStore]:
    """An empty store on each backend (``store_url`` is parametrised in conftest.py)."""
    with SqlRunStore(store_url) as opened:
        yield opened


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


def make_call(run_id: str, seq: int, *, error: str | None = None) -> ModelCallRecord:
    return ModelCallRecord(
        id=f"{run_id}-c{seq}",
        run_id=run_id,
        seq=seq,
        agent="a",
        client="FunctionModel(f)",
        model="f",
        request_hash="ab" * 32,
        request={"op": "complete", "messages": [{"role": "user", "content": "2+2?"}]},
        response=None if error else {"text": "4"},
        status="error" if error else "ok",
        error=error,
        latency_ms=1.5,
        prompt_tokens=3,
        completion_tokens=0 if error else 1,
        attempts=2,
        created_at=T0,
    )


def stamped(message: Envelope, run_id: str, seq: int, sender: str = "a") -> Message:
    """``message`` with the envelope the runtime would give it."""
    return message.model_copy(  # type: ignore[return-value]
        update={"id": f"{run_id}-{seq}", "run_id": run_id, "sender": sender, "timestamp": T0}
    )


def finish(status: str = "completed", reason: str = "completed") -> RunFinish:
    return RunFinish(
        status=status, reason=reason, detail="done", usage={"turns": 2.0}, finished_at=T0
    )


# -- runs ---------------------------------------------------------------------------------------
def test_a_created_run_round_trips_and_is_running(store: RunStore) -> None:
    store.create_run(make_run("r1"))
    record = store.get_run("r1")
    assert record == make_run("r1").model_copy(update={"status": "running", "usage": {}})
    assert record.message_count == 0 and record.finished_at is None
    assert store.messages("r1") == [] and store.events("r1") == []
    assert store.model_calls("r1") == []


def test_the_last_step_records_the_outcome_with_the_stop(store: RunStore) -> None:
    store.create_run(make_run("r1"))
    stop = stamped(Stop(reason="max_turns", detail="5 turns"), "r1", 0, sender="runtime")
    store.write_step(StepRecord("r1", messages=((0, stop),), finish=finish("stopped", "max_turns")))
    record = store.get_run("r1")
    assert (record.status, record.stop_reason, record.stop_detail) == (
        "stopped",
        "max_turns",
        "done",
    )
    assert record.usage == {"turns": 2.0} and record.finished_at == T0
    assert store.messages("r1") == [stop] and record.message_count == 1


@pytest.mark.parametrize("status", ["completed", "stopped", "interrupted", "error"])
def test_every_final_status_is_kept(store: RunStore, status: str) -> None:
    store.create_run(make_run("r1"))
    store.write_step(StepRecord("r1", finish=finish(status, "completed")))
    assert store.get_run("r1").status == status


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


def test_a_duplicate_run_id_is_refused(store: RunStore) -> None:
    store.create_run(make_run("r1"))
    with pytest.raises(StoreError, match="Nothing of this transaction was written"):
        store.create_run(make_run("r1"))
    assert [r.id for r in store.list_runs()] == ["r1"]


# -- steps --------------------------------------------------------------------------------------
def test_a_step_writes_messages_events_and_model_calls_together(store: RunStore) -> None:
    store.create_run(make_run("r1"))
    question = stamped(Question(to="b", text="2+2?"), "r1", 0)
    answer = stamped(Answer(to="a", text="4", confidence=0.75), "r1", 1, sender="b")
    events = (
        RunStarted(run_id="r1", graph="g", budget={}, seed=0, timestamp=T0),
        MessageSent(run_id="r1", message=question, timestamp=T0),
    )
    store.write_step(StepRecord("r1", ((0, question),), tuple(enumerate(events, 1))))
    store.write_step(
        StepRecord(
            "r1",
            messages=((1, answer),),
            events=((3, MessageSent(run_id="r1", message=answer, timestamp=T0)),),
            model_calls=(make_call("r1", 1), make_call("r1", 2, error="ModelHTTPError: 500")),
        )
    )
    assert store.messages("r1") == [question, answer]
    assert [type(e).__name__ for e in store.events("r1")] == [
        "RunStarted",
        "MessageSent",
        "MessageSent",
    ]
    assert store.events("r1")[:2] == list(events)
    assert store.model_calls("r1") == [
        make_call("r1", 1),
        make_call("r1", 2, error="ModelHTTPError: 500"),
    ]
    assert store.get_run("r1").message_count == 2


def test_a_step_that_fails_writes_nothing(store: RunStore) -> None:
    store.create_run(make_run("r1"))
    first = stamped(Question(to="b", text="1"), "r1", 0)
    store.write_step(StepRecord("r1", messages=((0, first),)))
    clash = StepRecord(
        "r1",
        messages=((1, stamped(Question(to="b", text="2"), "r1", 1)), (0, first)),  # seq 0 again
        events=((1, MessageSent(run_id="r1", message=first, timestamp=T0)),),
        model_calls=(make_call("r1", 1),),
        finish=finish(),
    )
    with pytest.raises(StoreError, match="Nothing of this transaction was written"):
        store.write_step(clash)
    assert store.messages("r1") == [first]
    assert store.events("r1") == [] and store.model_calls("r1") == []
    assert store.get_run("r1").status == "running"


def test_several_steps_in_one_transaction_are_written_in_order_or_not_at_all(
    store: RunStore,
) -> None:
    for run_id in ("r1", "r2"):
        store.create_run(make_run(run_id))
    steps = [
        StepRecord(run_id, messages=((seq, stamped(Question(to="b", text=f"{seq}"), run_id, seq)),))
        for seq in range(3)
        for run_id in ("r1", "r2")
    ]
    store.write_steps(steps)
    for run_id in ("r1", "r2"):
        assert [m.text for m in store.messages(run_id)] == ["0", "1", "2"]  # type: ignore[union-attr]
    again = [
        StepRecord("r1", messages=((3, stamped(Question(to="b", text="3"), "r1", 3)),)),
        steps[0],
    ]
    with pytest.raises(StoreError):
        store.write_steps(again)
    assert len(store.messages("r1")) == 3


def test_runs_keep_their_own_messages(store: RunStore) -> None:
    for run_id in ("r1", "r2"):
        store.create_run(make_run(run_id))
        store.write_step(
            StepRecord(run_id, messages=((0, stamped(Question(to="b", text=run_id), run_id, 0)),))
        )
    assert [m.run_id for m in store.messages("r1")] == ["r1"]
    assert [r.message_count for r in store.list_runs()] == [1, 1]


SAFE_TEXT = st.text(st.characters(blacklist_categories=["Cs"]), max_size=30)


@settings(
    max_examples=8,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    messages=st.tuples(*[model_strategy(cls) for cls in MESSAGE_KINDS.values()]),
    events=st.tuples(*[model_strategy(cls) for cls in EVENT_CLASSES]),
    run_id=st.uuids().map(lambda u: u.hex),
)
def test_every_message_and_event_kind_round_trips(
    store: RunStore, messages: tuple[Any, ...], events: tuple[Any, ...], run_id: str
) -> None:
    store.create_run(make_run(run_id))
    sent = [stamped(m, run_id, seq, sender=f"agent{seq}") for seq, m in enumerate(messages)]
    store.write_step(
        StepRecord(
            run_id,
            messages=tuple(enumerate(sent)),
            events=tuple(enumerate(events, 1)),
        )
    )
    assert store.messages(run_id) == sent
    assert [type(m) for m in store.messages(run_id)] == list(MESSAGE_KINDS.values())
    assert store.events(run_id) == list(events)


# -- interrupted runs ------------------------------------------------------------------------------
def test_a_run_whose_process_died_is_reported_interrupted(store_url: str) -> None:
    """The run is created by another process, which then exits without finishing it."""
    script = textwrap.dedent("""
        import os, sys
        from agents.store import RunRecord, SqlRunStore
        with SqlRunStore(sys.argv[1]) as store:
            store.create_run(RunRecord.model_validate_json(sys.argv[2]))
        print(os.getpid())
    """)
    done = subprocess.run(
        [sys.executable, "-c", script, store_url, make_run("r1").model_dump_json()],
        capture_output=True,
        text=True,
        check=True,
    )
    with SqlRunStore(store_url, read_only=True) as reader:  # `lyceum runs list` / `show`
        assert [r.status for r in reader.list_runs()] == ["interrupted"]
        assert reader.get_run("r1").status == "interrupted"
    engine = create_engine(store_url)
    with engine.connect() as conn:  # reading reported it, and wrote nothing
        assert conn.scalar(select(RunRow.status)) == "running"
    engine.dispose()
    with SqlRunStore(store_url) as store:
        record = store.get_run("r1")
        assert (record.status, record.stop_reason) == ("interrupted", "interrupted")
        assert f"process {int(done.stdout)}" in (record.stop_detail or "")
        assert "ended without stopping the run (killed?)" in (record.stop_detail or "")
        assert store.list_runs()[0].status == "interrupted"


def test_a_run_from_another_host_is_interrupted_once_its_heartbeat_is_stale(
    store: RunStore, store_url: str
) -> None:
    store.stale_after = timedelta(minutes=5)
    store.create_run(make_run("r1"))

    def owned_by_another_host(heartbeat: datetime) -> None:
        # Only the database knows the owner: set it there, as another host would have.
        engine = create_engine(store_url)
        with engine.begin() as conn:
            conn.execute(update(RunRow).values(host="elsewhere", heartbeat_at=heartbeat))
        engine.dispose()

    owned_by_another_host(datetime.now(UTC) - timedelta(minutes=6))
    store.write_step(
        StepRecord("r1", messages=((0, stamped(Question(to="b", text="x"), "r1", 0)),))
    )
    assert store.get_run("r1").status == "running"  # the step refreshed the heartbeat
    owned_by_another_host(datetime.now(UTC) - timedelta(minutes=6))
    record = store.get_run("r1")
    assert (record.status, record.stop_reason) == ("interrupted", "interrupted")
    assert record.stop_detail is not None and "no heartbeat from elsewhere" in record.stop_detail


def test_migrations_match_the_models(store: RunStore, store_url: str) -> None:
    store.init()
    engine = create_engine(store_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


# -- through the runtime --------------------------------------------------------------------------
def counting_graph(turns: int) -> AgentGraph:
    """Two agents count to ``turns``; each calls its model once per message."""
    model = FunctionModel(lambda request: "ok")

    async def count(message: Message, ctx: RunContext) -> Envelope:
        await ctx.complete(model, ModelRequest.of(getattr(message, "text", "")))
        n = int(getattr(message, "text", "0")) + 1
        if n >= turns:
            return Stop(detail=f"counted to {n}")
        return Question(to="b" if ctx.agent == "a" else "a", text=str(n))

    a, b = FunctionAgent("a", count), FunctionAgent("b", count)
    return AgentGraph().edge(a, b, kinds=[Question]).edge(b, a, kinds=[Question])


async def test_a_run_is_stored_step_by_step_and_replays(store: RunStore) -> None:
    seen: list[str] = []
    runtime = Runtime(store)
    result = await runtime.run(
        counting_graph(6),
        Question(to="a", text="0"),
        budget=Budget(turns=20),
        observer=lambda event: seen.append(event.kind),
    )
    assert result.reason == "completed" and result.detail == "counted to 6"
    record = store.get_run(result.run_id)
    assert (record.status, record.message_count) == ("completed", len(result.messages))
    assert store.messages(result.run_id) == result.messages
    assert [e.kind for e in store.events(result.run_id)] == seen  # all but token deltas
    assert isinstance(store.events(result.run_id)[-1], RunStopped)
    calls = store.model_calls(result.run_id)
    assert [c.seq for c in calls] == [1, 2, 3, 4, 5, 6] and {c.status for c in calls} == {"ok"}
    report = await runtime.replay(result.run_id, counting_graph(6))
    assert report.identical and transcript(store.messages(report.result.run_id)) == transcript(
        result.messages
    )

"""Classroom batches: every classroom a unit of the evaluation runner, stored as a run,
resumed from the store, identical on the local executor, a process pool and Ray, on
SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import csv
import os
import pickle
from dataclasses import asdict
from datetime import UTC, datetime
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from agents.classroom import ClassroomConfig, roster, run_classroom
from agents.classroom.graph import start_message
from agents.cli.app import main
from agents.eval import EpisodeKey, LocalExecutor, ProcessExecutor, run_sweep
from agents.eval.classroom_batch import (
    BatchRow,
    ClassroomBatch,
    ClassroomBatchTask,
    batch_row,
    load_batch_config,
    unit_run_id,
)
from agents.eval.classroom_summary import run_classroom_batch, write_batch_parquet
from agents.runtime import Runtime
from agents.store import RunRecord, SqlRunStore
from protocols import Event, StoreError, UserError, transcript
from tests.conftest import require
from tests.sweep_tasks import kill_when_stored

ROOT = Path(__file__).resolve().parents[1]
BASE = ClassroomConfig(students=tuple(roster(2)), turns=8)
BATCH = ClassroomBatch(base=BASE, profiles=("mixed", "novice"), seeds=(0, 1))


def stored_transcripts(url: str, rows: tuple[BatchRow, ...]) -> list[list[dict[str, Any]]]:
    with SqlRunStore(url, read_only=True) as store:
        return [transcript(store.messages(row.run_id)) for row in rows]


def test_a_batch_is_every_lesson_profile_and_seed_with_its_own_class() -> None:
    batch = ClassroomBatch(
        base=BASE,
        lessons=("fractions", "linear_equations"),
        profiles=("mixed", "strong"),
        seeds=(3,),
    )
    assert [k.text() for k in batch.units()] == [
        "classroom:fractions:mixed:0:3",
        "classroom:fractions:strong:0:3",
        "classroom:linear_equations:mixed:0:3",
        "classroom:linear_equations:strong:0:3",
    ]
    strong = batch.classroom(EpisodeKey("classroom", "linear_equations", "strong", 0.0, 3))
    assert (strong.lesson, strong.seed, strong.turns) == ("linear_equations", 3, 8)
    assert [(s.name, s.profile) for s in strong.students] == [("ada", "strong"), ("ben", "strong")]
    mixed = batch.classroom(batch.units()[0])
    assert [(s.name, s.profile) for s in mixed.students] == [("ada", "novice"), ("ben", "average")]
    # The grid is in the units' keys, not the batch's hash: adding a seed reuses the rest.
    more = batch.model_copy(update={"seeds": (3, 4)})
    assert (
        ClassroomBatchTask(more, "x").config_hash() == ClassroomBatchTask(batch, "x").config_hash()
    )
    longer = ClassroomBatch(base=BASE.model_copy(update={"turns": 9}))
    assert (
        ClassroomBatchTask(longer, "x").config_hash()
        != ClassroomBatchTask(batch, "x").config_hash()
    )


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"profiles": ["genius"]}, "unknown profile 'genius'"),
        ({"seeds": [1, 1]}, "seeds must not repeat a value"),
        ({"seeds": [-1]}, "seeds must be at least 0"),
        ({"base": {"human": "zoe"}}, "a batch runs unattended; drop base.human"),
    ],
)
def test_bad_batches_are_refused(data: dict[str, Any], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        ClassroomBatch.model_validate(data)


def test_an_unknown_lesson_fails_before_anything_runs(tmp_path: Path) -> None:
    batch = ClassroomBatch(base=BASE, lessons=("fractions", "astrology"))
    with pytest.raises(UserError, match="astrology"):
        run_classroom_batch(batch, db=str(tmp_path / "b.db"), progress=False)
    assert not (tmp_path / "b.db").exists()


def test_a_rerun_skips_every_stored_classroom_on_each_backend(store_url: str) -> None:
    """Concurrent classrooms write the one store (SQLite: WAL and a busy timeout); a rerun
    runs nothing; a crash after two classrooms (a smaller batch) loses none of them."""
    first = run_classroom_batch(
        BATCH.model_copy(update={"seeds": (0,)}), db=store_url, concurrency=4, progress=False
    )
    assert (first.sweep.ran, first.sweep.reused) == (2, 0)
    full = run_classroom_batch(BATCH, db=store_url, concurrency=4, progress=False)
    assert (full.sweep.ran, full.sweep.reused) == (2, 2)
    assert full.rows[0] == first.rows[0] and full.rows[2] == first.rows[1]
    again = run_classroom_batch(BATCH, db=store_url, concurrency=4, progress=False)
    assert (again.sweep.ran, again.sweep.reused) == (0, 4)
    assert again.rows == full.rows
    with SqlRunStore(store_url, read_only=True) as store:
        runs = store.list_runs(limit=100)
    assert sorted(r.id for r in runs) == sorted(row.run_id for row in full.rows)
    assert {r.status for r in runs} == {"completed"}
    assert [(r.profile, r.seed, r.students, r.status, r.simulated) for r in full.rows] == [
        ("mixed", 0, 2, "completed", True),
        ("mixed", 1, 2, "completed", True),
        ("novice", 0, 2, "completed", True),
        ("novice", 1, 2, "completed", True),
    ]
    for row in full.rows:
        assert row.quiz_before is not None and row.quiz_after is not None
        assert row.estimate_gap is not None and 0.0 <= row.estimate_gap <= 1.0
    assert full.label.startswith("SIMULATION")


class CountingStores:
    """A run store factory that keeps every store it opened."""

    def __init__(self) -> None:
        self.opened: list[SqlRunStore] = []

    def __call__(self, url: str) -> SqlRunStore:
        store = SqlRunStore(url)
        self.opened.append(store)
        return store


def test_the_classrooms_of_a_process_share_one_store_and_their_rows_do_not_change(
    tmp_path: Path, store_url: str
) -> None:
    """Four classrooms at once on the local executor open one run store with one engine
    (one pool, one schema check), closed when the sweep ends; whole rows and stored
    transcripts equal those of each classroom run on a store of its own."""
    stores = CountingStores()
    task = ClassroomBatchTask(BATCH, store_url, store_factory=stores)
    result = run_sweep(task, store=store_url, executor=LocalExecutor(4), progress=False)
    rows = tuple(BatchRow.from_payload(result.payloads[key]) for key in BATCH.units())
    assert [store.engines_opened for store in stores.opened] == [1]
    assert task.store is not stores.opened[0]  # closed at the end: the next unit reopens
    alone_url = f"sqlite:///{tmp_path / 'alone.db'}"
    alone = []
    for key in BATCH.units():
        config, run_id = BATCH.classroom(key), unit_run_id(task.config_hash(), key)
        with SqlRunStore(alone_url) as store:
            ran = asyncio.run(run_classroom(config, runtime=Runtime(store), run_id=run_id))
        alone.append(batch_row(key, config, ran.status, ran.messages, run_id))
    assert rows == tuple(alone)
    assert stored_transcripts(store_url, rows) == stored_transcripts(alone_url, rows)
    # A worker gets the task without its store, and opens its own.
    shipped = ClassroomBatchTask(BATCH, store_url)
    clone = pickle.loads(pickle.dumps(shipped))
    assert clone.store is not shipped.store and clone.store.url == shipped.store.url


@pytest.mark.slow
def test_a_process_pool_batch_equals_the_local_one(tmp_path: Path) -> None:
    """Two worker processes write one SQLite file at once; nothing fails, nothing differs."""
    local = run_classroom_batch(BATCH, db=str(tmp_path / "local.db"), progress=False)
    pool = ProcessExecutor(workers=2, concurrency=2, chunk=1)
    try:
        pooled = run_classroom_batch(
            BATCH, db=str(tmp_path / "pool.db"), executor=pool, progress=False
        )
    finally:
        pool.close()
    assert pooled.rows == local.rows  # run ids included: they derive from the units' keys
    assert stored_transcripts(f"sqlite:///{tmp_path / 'pool.db'}", pooled.rows) == (
        stored_transcripts(f"sqlite:///{tmp_path / 'local.db'}", local.rows)
    )


@pytest.mark.slow
@pytest.mark.usefixtures("ray_cluster")
def test_a_batch_on_ray_equals_the_local_one(tmp_path: Path, store_url: str) -> None:
    """Ray workers write the store given by URL (SQLite here, or PostgreSQL); whole rows and
    whole stored transcripts equal the local executor's."""
    local_url = f"sqlite:///{tmp_path / 'local.db'}"
    local = run_classroom_batch(BATCH, db=local_url, progress=False)
    on_ray = run_classroom_batch(BATCH, db=store_url, executor="ray", progress=False)
    assert on_ray.rows == local.rows
    assert stored_transcripts(store_url, on_ray.rows) == stored_transcripts(local_url, local.rows)
    again = run_classroom_batch(BATCH, db=store_url, executor="ray", progress=False)
    assert (again.sweep.ran, again.sweep.reused) == (0, 4)


def lyceum(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["classroom", *args], catch_exceptions=False)
    return result.exit_code, result.output


def test_the_cli_runs_a_batch_resumes_it_and_writes_its_table(tmp_path: Path) -> None:
    db, out = str(tmp_path / "b.db"), tmp_path / "out"
    args = [
        "--batch",
        "--students",
        "2",
        "--turns",
        "8",
        "--seeds",
        "0-1",
        "--profiles",
        "mixed,novice",
        "--db",
        db,
        "--out",
        str(out),
        "--no-progress",
    ]
    code, output = lyceum(*args)
    assert code == 0, output
    lines = output.splitlines()
    assert lines[0] == (
        "SIMULATION: every mind is simulated; these numbers describe the simulation, not LLMs."
    )
    assert "2 run" not in lines[-1] and ": 4 classrooms, 0 reused from sqlite:///" in lines[-1]
    assert ", 4 run, " in lines[-1]
    [table] = list(out.glob("classroom-batch-*.csv"))
    with table.open() as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["lesson"], r["profile"], r["seed"], r["status"]) for r in rows] == [
        ("fractions", "mixed", "0", "completed"),
        ("fractions", "mixed", "1", "completed"),
        ("fractions", "novice", "0", "completed"),
        ("fractions", "novice", "1", "completed"),
    ]
    assert list(out.glob("classroom-batch-*.png"))
    require(find_spec("pyarrow") is not None, "pyarrow is not installed (lyceum[eval])")
    import pyarrow.parquet as pq

    parquet = pq.read_table(table.with_suffix(".parquet")).to_pylist()
    assert [{k: "" if v is None else str(v) for k, v in r.items()} for r in parquet] == rows
    code, output = lyceum(*args)
    assert code == 0 and ": 4 classrooms, 4 reused from " in output and ", 0 run, " in output


def test_lyceum_otel_in_the_environment_does_not_stop_a_batch(tmp_path: Path) -> None:
    """Only --otel on the command line is refused with --batch; LYCEUM_OTEL set for a
    whole shell runs the batch, untraced, and says so."""
    args = ["--batch", "--students", "2", "--turns", "8", "--seeds", "0", "--no-progress"]
    result = CliRunner().invoke(
        main,
        ["classroom", *args, "--db", str(tmp_path / "b.db"), "--out", str(tmp_path)],
        env={"LYCEUM_OTEL": "1"},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1] == (
        "LYCEUM_OTEL is set, but a batch's classrooms run in executor workers and are not "
        "traced (trace one classroom without --batch)"
    )
    assert ": 1 classrooms, 0 reused from " in lines[-1] and ", 1 run, " in lines[-1]


def test_the_parquet_table_is_typed_and_keeps_a_missing_score_null(tmp_path: Path) -> None:
    require(find_spec("pyarrow") is not None, "pyarrow is not installed (lyceum[eval])")
    import pyarrow.parquet as pq

    rows = (
        BatchRow("fractions", "mixed", 0, 2, "completed", 0.25, 0.75, 0.125, 90, True, "a" * 32),
        BatchRow("fractions", "novice", 1, 2, "stopped", None, None, None, 3, True, "b" * 32),
    )
    path = write_batch_parquet(rows, tmp_path / "t.parquet")
    table = pq.read_table(path)
    assert table.to_pylist() == [asdict(row) for row in rows]
    assert [str(t) for t in table.schema.types] == [
        "string", "string", "int64", "int64", "string", "double", "double", "double",
        "int64", "bool", "string",
    ]  # fmt: skip
    assert table.column("quiz_before").null_count == 1  # null, not NaN
    assert table.schema.field("quiz_before").nullable and not table.schema.field("seed").nullable


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            ["--batch", "--address", "127.0.0.1:6379"],
            "--address names a Ray cluster; use it with --executor ray",
        ),
        (["--seeds", "0-3"], "--seeds belongs to a batch; add --batch"),
        (
            ["--batch", "--seeds", "3-1"],
            "--seeds: '3-1' is not a seed or a range; write 0-9 or 1,5,7",
        ),
        (["--batch", "--seed", "3"], "--seed does not fit a batch; use --seeds"),
        (["--batch", "--profiles", "genius"], "--profiles: "),
        (
            ["--batch", "--otel"],
            "--otel traces one classroom; a batch's classrooms run in executor workers and are "
            "not traced: drop --otel, or trace one classroom without --batch",
        ),
        (
            ["--batch", "--batch-config", "b.yaml", "--turns", "3"],
            "--turns does not go with --batch-config; set it under base: in the batch file",
        ),
    ],
)
def test_bad_batch_options_are_one_line_errors(tmp_path: Path, args: list[str], error: str) -> None:
    result = CliRunner().invoke(
        main, ["classroom", *args, "--db", str(tmp_path / "x.db"), "--out", str(tmp_path)]
    )
    assert result.exit_code == 2, result.output
    assert error in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "x.db").exists()


def test_a_batch_config_file_is_loaded_and_its_errors_name_the_line(tmp_path: Path) -> None:
    batch = load_batch_config(ROOT / "examples" / "classroom_batch.yaml")
    assert (batch.base.turns, batch.profiles, batch.seeds, batch.students) == (
        12,
        ("mixed", "novice", "strong"),
        (0, 1, 2),
        4,
    )
    assert len(batch.units()) == 9
    bad = tmp_path / "bad.yaml"
    bad.write_text("seeds: [0, 1]\nprofiles: [mixed, genuis]\n")
    code, output = lyceum("--batch", "--batch-config", str(bad), "--db", str(tmp_path / "x.db"))
    assert code == 2 and f"{bad}:2" in output and "unknown profile 'genuis'" in output
    assert len(output.strip().splitlines()) == 1 and not (tmp_path / "x.db").exists()


def stored_runs(url: str) -> dict[str, tuple[str, datetime]]:
    """Every run in the store: its status and when it was created."""
    with SqlRunStore(url, read_only=True) as store:
        return {r.id: (r.status, r.created_at) for r in store.list_runs(limit=1000)}


async def interrupt(task: ClassroomBatchTask, key: EpisodeKey, after: int) -> str:
    """Run the classroom of ``key`` under its batch run id and cancel it after ``after``
    events, as Ctrl-C does: the runtime records the run ``interrupted``."""
    run_id = unit_run_id(task.config_hash(), key)
    seen = 0

    def observe(event: Event) -> None:
        nonlocal seen
        seen += 1
        if seen == after:
            running.cancel()

    with SqlRunStore(task.db) as store:
        running = asyncio.ensure_future(
            run_classroom(
                task.config.classroom(key), runtime=Runtime(store), observer=observe, run_id=run_id
            )
        )
        with pytest.raises(asyncio.CancelledError):
            await running
    return run_id


def test_a_finished_classroom_whose_row_was_lost_is_rebuilt_and_an_interrupted_one_replaced(
    tmp_path: Path, store_url: str
) -> None:
    """The crash window of a batch: a classroom's run is stored but the driver died before
    its row was (unit 0), and a classroom was cut short (unit 1). The rerun rebuilds unit 0's
    row from the stored run without running it, and runs unit 1 again under its id."""
    task = ClassroomBatchTask(BATCH, store_url)
    first, second = BATCH.units()[:2]
    asyncio.run(task.run(first, {}))
    task.close()  # what the runner does at the end of a sweep
    cut = asyncio.run(interrupt(task, second, after=30))
    reused = unit_run_id(task.config_hash(), first)
    before = stored_runs(store_url)
    assert (before[reused][0], before[cut][0]) == ("completed", "interrupted")
    resumed = run_classroom_batch(BATCH, db=store_url, concurrency=2, progress=False)
    assert (resumed.sweep.reused, resumed.sweep.ran) == (0, 4)  # no rows were stored
    fresh = run_classroom_batch(BATCH, db=str(tmp_path / "fresh.db"), progress=False)
    assert resumed.rows == fresh.rows  # run ids included
    after = stored_runs(store_url)
    assert sorted(after) == sorted(row.run_id for row in fresh.rows)
    assert {status for status, _ in after.values()} == {"completed"}
    assert after[reused] == before[reused]  # not run again: the same run, created before
    assert after[cut][1] > before[cut][1]  # replaced by a new run under the same id
    assert stored_transcripts(store_url, resumed.rows) == stored_transcripts(
        f"sqlite:///{tmp_path / 'fresh.db'}", fresh.rows
    )


def test_a_classroom_still_running_elsewhere_is_not_started_twice(tmp_path: Path) -> None:
    """A run of the unit's id whose process is alive (this one) fails the unit with one
    line, naming the run and its process; nothing is deleted."""
    url = f"sqlite:///{tmp_path / 'b.db'}"
    task = ClassroomBatchTask(BATCH, url)
    key = BATCH.units()[0]
    run_id = unit_run_id(task.config_hash(), key)
    config = BATCH.classroom(key)
    with SqlRunStore(url) as store:
        store.create_run(
            RunRecord(
                id=run_id,
                created_at=datetime.now(UTC),
                seed=config.seed,
                budget={},
                graph_mermaid="",
                initial_message=start_message(config),
            )
        )
    with pytest.raises(UserError) as caught:
        asyncio.run(task.run(key, {}))
    task.close()
    message = str(caught.value)
    assert message.startswith(f"run {run_id} is still running (process {os.getpid()} on ")
    assert "so it is not started twice" in message and "\n" not in message
    assert stored_runs(url)[run_id][0] == "running"


def test_a_given_run_id_is_checked_and_taken_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'b.db'}"
    config = BATCH.classroom(BATCH.units()[0])
    with SqlRunStore(url) as store:
        for bad in ("", "x" * 65, "a\nb", " a"):
            with pytest.raises(UserError, match="is not usable: give 1 to 64 printable"):
                asyncio.run(run_classroom(config, runtime=Runtime(store), run_id=bad))
        done = asyncio.run(run_classroom(config, runtime=Runtime(store), run_id="r1"))
        assert (done.run_id, done.status) == ("r1", "completed")
        with pytest.raises(StoreError, match="writing to the run store"):
            asyncio.run(run_classroom(config, runtime=Runtime(store), run_id="r1"))
        assert store.reusable_run("r1") == store.get_run("r1")
        assert store.reusable_run("r2") is None
    assert list(stored_runs(url)) == ["r1"]
    with SqlRunStore(url, read_only=True) as store, pytest.raises(UserError, match="read_only"):
        store.reusable_run("r1")


KILLED_BATCH = """
import sys
from agents.classroom import ClassroomConfig, roster
from agents.eval import ClassroomBatch, run_classroom_batch
batch = ClassroomBatch(base=ClassroomConfig(students=tuple(roster(2)), turns=8),
                       seeds=tuple(range(16)))
run_classroom_batch(batch, db=sys.argv[1], concurrency=2, progress=False)
"""


@pytest.mark.slow
def test_a_batch_killed_with_sigkill_resumes_and_repeats_no_classroom(
    tmp_path: Path, store_url: str
) -> None:
    """SIGKILL mid-batch (two classrooms in flight), then a rerun: every classroom has
    exactly one run, completed; every run finished before the kill is reused, not run
    again; the rows, run ids included, equal an uninterrupted batch's."""
    stored = kill_when_stored(KILLED_BATCH, store_url, at_least=3, timeout=180, mid_run=True)
    assert 3 <= stored < 16, stored
    before = stored_runs(store_url)
    finished = {i for i, (status, _) in before.items() if status == "completed"}
    assert len(finished) >= stored, before  # each stored row's run completed first
    assert "interrupted" in {status for status, _ in before.values()}  # killed mid-run
    assert {status for status, _ in before.values()} <= {"completed", "interrupted"}
    batch = ClassroomBatch(base=BASE, seeds=tuple(range(16)))
    resumed = run_classroom_batch(batch, db=store_url, progress=False)
    assert (resumed.sweep.reused, resumed.sweep.ran) == (stored, 16 - stored)
    fresh = run_classroom_batch(batch, db=str(tmp_path / "fresh.db"), progress=False)
    assert resumed.rows == fresh.rows
    after = stored_runs(store_url)
    assert sorted(after) == sorted(row.run_id for row in resumed.rows)  # one run each
    assert {status for status, _ in after.values()} == {"completed"}
    assert {i: after[i] for i in finished} == {i: before[i] for i in finished}  # not rerun
    rerun = {i for i in after if after[i] != before.get(i)}
    assert rerun == set(after) - finished

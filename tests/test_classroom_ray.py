"""Classroom batches: every classroom a unit of the evaluation runner, stored as a run,
resumed from the store, identical on the local executor, a process pool and Ray, on
SQLite and PostgreSQL."""

from __future__ import annotations

import csv
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from agents.classroom import ClassroomConfig, roster
from agents.cli.app import main
from agents.eval import EpisodeKey, ProcessExecutor
from agents.eval.classroom_batch import (
    BatchRow,
    ClassroomBatch,
    ClassroomBatchTask,
    load_batch_config,
)
from agents.eval.classroom_summary import run_classroom_batch
from agents.store import SqlRunStore
from protocols import UserError, transcript
from tests.sweep_tasks import kill_when_stored

ROOT = Path(__file__).resolve().parents[1]
BASE = ClassroomConfig(students=tuple(roster(2)), turns=8)
BATCH = ClassroomBatch(base=BASE, profiles=("mixed", "novice"), seeds=(0, 1))


def rows_without_ids(rows: tuple[BatchRow, ...]) -> list[dict[str, Any]]:
    """Whole rows; the run id is the one field that differs between reruns."""
    return [asdict(replace(row, run_id="")) for row in rows]


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
    assert rows_without_ids(pooled.rows) == rows_without_ids(local.rows)
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
    assert rows_without_ids(on_ray.rows) == rows_without_ids(local.rows)
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
    code, output = lyceum(*args)
    assert code == 0 and ": 4 classrooms, 4 reused from " in output and ", 0 run, " in output


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


KILLED_BATCH = """
import sys
from agents.classroom import ClassroomConfig, roster
from agents.eval import ClassroomBatch, run_classroom_batch
batch = ClassroomBatch(base=ClassroomConfig(students=tuple(roster(2)), turns=8),
                       seeds=tuple(range(16)))
run_classroom_batch(batch, db=sys.argv[1], concurrency=1, progress=False)
"""


@pytest.mark.slow
def test_a_batch_killed_with_sigkill_resumes_and_repeats_no_stored_classroom(
    tmp_path: Path,
) -> None:
    db = tmp_path / "b.db"
    stored = kill_when_stored(KILLED_BATCH, db, at_least=3, timeout=90)
    assert 3 <= stored < 16, stored
    batch = ClassroomBatch(base=BASE, seeds=tuple(range(16)))
    resumed = run_classroom_batch(batch, db=str(db), progress=False)
    assert (resumed.sweep.reused, resumed.sweep.ran) == (stored, 16 - stored), stored
    fresh = run_classroom_batch(batch, db=str(tmp_path / "fresh.db"), progress=False)
    assert rows_without_ids(resumed.rows) == rows_without_ids(fresh.rows)
    with SqlRunStore(f"sqlite:///{db}", read_only=True) as store:
        runs = store.list_runs(limit=100)
    completed = [r.id for r in runs if r.status == "completed"]
    statuses = sorted(r.status for r in runs)
    # Every row's run is in the store. Only classrooms in flight at the kill ran twice: the
    # one running (left interrupted) and any finished whose row was not yet written (its
    # run completed; the writer thread is at most a unit or two behind).
    assert {row.run_id for row in resumed.rows} <= set(completed), statuses
    assert 0 <= len(completed) - 16 <= 2, statuses
    assert len(runs) - 16 <= 3, statuses

"""The sweep runner: every unit persisted as it finishes, reruns resume (also after
``kill -9``), a failing unit is named and loses nothing finished, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from agents.eval import EpisodeKey, Payload, SweepStore, UnitRecord, arun_sweep, run_sweep
from tests.sweep_tasks import FakeConfig, FakeTask, count_units, kill_when_stored

ROOT = Path(__file__).resolve().parents[1]


async def reference(task: FakeTask) -> dict[EpisodeKey, Payload]:
    """The sweep computed directly: stage by stage, unit by unit, in order."""
    done: dict[EpisodeKey, Payload] = {}
    for stage in range(task.stages()):
        snapshot = dict(done)
        for key in task.units(stage, snapshot):
            done[key] = await task.run(key, task.inputs(key, snapshot))
    return done


def test_a_sweep_runs_every_unit_once_and_a_rerun_reuses_them_all(
    store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    task = FakeTask()
    expected = asyncio.run(reference(task))
    assert len(expected) == 2 * 6 + 2 * 3 * 3 * 6

    first = run_sweep(task, store=store_url, progress=False)
    assert (first.ran, first.reused) == (len(expected), 0)
    assert first.payloads == expected
    assert list(first.units) == list(expected)  # stage order, then the task's own order

    caplog.set_level(logging.INFO, logger="agents.eval.runner")
    again = run_sweep(FakeTask(), store=store_url, progress=False)
    assert (again.ran, again.reused) == (0, len(expected))
    assert again.payloads == expected
    assert f"{len(expected)} reused (not run again), 0 run" in caplog.text


def test_units_are_stored_under_their_idempotent_key(store_url: str) -> None:
    store = SweepStore(store_url)
    key = EpisodeKey("episode", "fake:0", "random", 0.2, 3)
    store.begin("h" * 64, "tom", {"student_kind": "simulated"})
    store.save("h" * 64, [UnitRecord(key, {"correct": True}, 0.5)])
    store.save("h" * 64, [UnitRecord(key, {"correct": False}, 0.1)])  # a late duplicate
    assert store.load("h" * 64) == {key: UnitRecord(key, {"correct": True}, 0.5)}
    [sweep] = store.sweeps()
    assert (sweep.config_hash, sweep.kind, sweep.units) == ("h" * 64, "tom", 1)
    assert sweep.meta == {"student_kind": "simulated"}
    assert store.get("hhh").config_hash == "h" * 64
    assert store.delete("h" * 64) == 1 and store.sweeps() == []
    store.close()


KILLED_SWEEP = """
import sys
from agents.eval import run_sweep
from tests.sweep_tasks import FakeConfig, FakeTask
run_sweep(FakeTask(FakeConfig(items=8, seeds=3, delay=0.02)), store=sys.argv[1],
          concurrency=2, progress=False)
"""


@pytest.mark.slow
def test_a_sweep_killed_with_sigkill_resumes_to_the_uninterrupted_result(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "sweep.db"
    kill_when_stored(KILLED_SWEEP, db, at_least=40)
    task = FakeTask(FakeConfig(items=8, seeds=3))
    total = len(asyncio.run(reference(task)))
    stored = count_units(db)
    assert 40 <= stored < total

    caplog.set_level(logging.INFO, logger="agents.eval.runner")
    resumed = run_sweep(task, store=f"sqlite:///{db}", progress=False)
    uninterrupted = run_sweep(task, store=f"sqlite:///{tmp_path / 'fresh.db'}", progress=False)
    assert resumed.payloads == uninterrupted.payloads
    assert list(resumed.units) == list(uninterrupted.units)
    assert (resumed.reused, resumed.ran) == (stored, total - stored)
    assert f"{stored} reused (not run again), {total - stored} run" in caplog.text
    assert count_units(db) == total


def test_a_failing_unit_is_named_and_every_finished_unit_is_kept(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    bad = EpisodeKey("episode", "fake:3", "signal", 0.5, 1)
    task = FakeTask(FakeConfig(fail_on=bad.text()))
    with pytest.raises(RuntimeError, match="failed on purpose") as info:
        run_sweep(task, store=url, concurrency=4, progress=False)
    assert f"in sweep unit {bad.text()}" in (info.value.__notes__ or [])
    with SweepStore(url) as store:
        kept = store.load(task.config_hash())
    assert bad not in kept
    assert len([k for k in kept if k.kind == "signal"]) == 12  # stage 0 finished first

    fixed = run_sweep(FakeTask(), store=url, progress=False)  # same config hash
    assert fixed.reused == len(kept) and fixed.payloads == asyncio.run(reference(FakeTask()))


async def test_the_async_entry_point_runs_in_a_running_loop(tmp_path: Path) -> None:
    task = FakeTask(FakeConfig(items=3, seeds=1, strategies=["signal"], budgets=[1.0]))
    result = await arun_sweep(task, store=f"sqlite:///{tmp_path / 's.db'}", progress=False)
    assert result.payloads == await reference(task)
    assert (result.ran, result.reused) == (6, 0)


def test_bad_executor_choices_are_clear_errors(tmp_path: Path) -> None:
    from protocols import UserError

    url = f"sqlite:///{tmp_path / 's.db'}"
    with pytest.raises(UserError, match="unknown executor 'dask'; use 'local', 'process' or 'ray'"):
        run_sweep(FakeTask(), store=url, executor="dask", progress=False)  # type: ignore[arg-type]
    with pytest.raises(UserError, match="--address names a Ray cluster"):
        run_sweep(FakeTask(), store=url, address="10.0.0.1:6379", progress=False)


def test_a_run_store_from_before_sweeps_is_upgraded_in_place(tmp_path: Path) -> None:
    from importlib import resources

    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine, inspect, text

    db = tmp_path / "old.db"
    engine = create_engine(f"sqlite:///{db}")
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("agents.store") / "migrations"))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0002")  # a store written before sweeps existed
    store = SweepStore(f"sqlite:///{db}")
    store.begin("x" * 64, "tom", {})
    store.close()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0003"
    assert {"runs", "sweeps", "sweep_units"} <= set(inspect(engine).get_table_names())
    engine.dispose()


@pytest.mark.slow
def test_a_process_pool_sweep_equals_the_local_executor(tmp_path: Path) -> None:
    from agents.eval import ProcessExecutor

    task = FakeTask(FakeConfig(items=5, seeds=2))
    pool = ProcessExecutor(1, chunk=7)
    try:
        pooled = run_sweep(task, store=f"sqlite:///{tmp_path / 'p.db'}", executor=pool,
                           progress=False)
    finally:
        pool.close()
    assert pooled.payloads == asyncio.run(reference(task))
    assert list(pooled.units) == list(asyncio.run(reference(task)))

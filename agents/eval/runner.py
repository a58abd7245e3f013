"""``run_sweep``: execute a ``SweepTask`` stage by stage, persisting every unit as it
finishes, resuming from what a crashed run stored.

Each stage's units are asked of the task given every result of the stages before it. A
unit already stored under the sweep's config hash is reused, not run again (the log says
how many); the others go to the executor, and each is written to the store as soon as it
finishes, on a worker thread, so the event loop never waits on the database. A process
killed mid-sweep (``kill -9``) loses only the units in flight: the rerun finds the rest
and the results equal those of an uninterrupted run, because a unit is a pure function of
its key and inputs (``agents.eval.base``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from agents.eval.base import EpisodeKey, Payload, SweepTask, close_task
from agents.eval.executors import Executor, make_executor
from agents.eval.provenance import task_meta
from agents.eval.results import SweepStore, UnitRecord

__all__ = ["SweepResult", "arun_sweep", "run_sweep"]

log = logging.getLogger(__name__)

Progress = Callable[[int, int, int], None]
"""A progress hook: called as ``hook(stage, done, total)`` when a stage starts (``done``
is 0) and as its units finish (``done`` counts the units run so far of the stage's
``total`` to run; reused units are not counted)."""


@dataclass(frozen=True)
class SweepResult:
    """A finished sweep.

    Attributes:
        config_hash: The task's config hash (the sweep's key in the store).
        kind: The task's kind (``"tom"``, ``"tutoring"``).
        units: Every unit of every stage with its result, in stage order.
        reused: How many units were found in the store and not run again.
        ran: How many units ran now.
        seconds: Wall time of this call.
        store_url: Where the units are stored (password masked).
        meta: The task's provenance as stored with the sweep (``task_meta``): kind,
            config, data hash, student kind, skipped records, code version.
    """

    config_hash: str
    kind: str
    units: dict[EpisodeKey, UnitRecord]
    reused: int
    ran: int
    seconds: float
    store_url: str = ""
    meta: dict[str, object] = field(default_factory=dict)

    @property
    def payloads(self) -> dict[EpisodeKey, Payload]:
        """Each unit's result by key (what ``task.curves`` and ``task.findings`` read)."""
        return {key: unit.payload for key, unit in self.units.items()}


class _Persister:
    """Writes finished units to the store on a worker thread, in the order they finish;
    what finishes while a write is under way goes in the next transaction."""

    def __init__(self, store: SweepStore, config_hash: str) -> None:
        self.store = store
        self.config_hash = config_hash
        self.pending: list[UnitRecord] = []
        self.wake = asyncio.Event()
        self.closing = False
        self.writer = asyncio.create_task(self._write())

    def add(self, records: Sequence[UnitRecord]) -> None:
        if self.writer.done():  # a failed write stops the sweep at once
            self.writer.result()
        self.pending.extend(records)
        self.wake.set()

    async def _write(self) -> None:
        while True:
            await self.wake.wait()
            self.wake.clear()
            while self.pending:
                batch, self.pending = self.pending, []
                await asyncio.to_thread(self.store.save, self.config_hash, batch)
            if self.closing:
                return

    async def close(self) -> None:
        self.closing = True
        self.wake.set()
        await self.writer


def _progress(enabled: bool) -> object | None:
    if not enabled:
        return None
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=Console(stderr=True, soft_wrap=True),
        transient=False,
    )
    return bar


async def arun_sweep(
    task: SweepTask,
    *,
    store: SweepStore | str | None = None,
    executor: Literal["local", "process", "ray"] | Executor = "local",
    concurrency: int = 32,
    address: str | None = None,
    progress: bool = True,
    on_progress: Progress | None = None,
) -> SweepResult:
    """Run ``task`` to completion (see ``run_sweep``), in the running event loop."""
    start = time.perf_counter()
    owned = not isinstance(store, SweepStore)  # opened here, so closed here
    store = store if isinstance(store, SweepStore) else SweepStore(store)
    runner = (
        make_executor(executor, concurrency=concurrency, address=address)
        if isinstance(executor, str)
        else executor
    )
    config_hash = task.config_hash()
    meta = task_meta(task)
    await asyncio.to_thread(store.begin, config_hash, task.kind, meta)
    stored = await asyncio.to_thread(store.load, config_hash)
    units: dict[EpisodeKey, UnitRecord] = {}
    reused = ran = 0
    persister = _Persister(store, config_hash)
    try:
        for stage in range(task.stages()):
            done = {key: unit.payload for key, unit in units.items()}
            keys = list(dict.fromkeys(task.units(stage, done)))
            found = {key: stored[key] for key in keys if key in stored}
            jobs = [(key, task.inputs(key, done)) for key in keys if key not in found]
            reused += len(found)
            log.info(
                "sweep %s stage %d: %d units, %d reused from %s, %d to run",
                config_hash[:12],
                stage,
                len(keys),
                len(found),
                store.display_url,
                len(jobs),
            )
            finished = dict(found)
            bar = _progress(progress and bool(jobs))
            await _run_stage(runner, task, jobs, persister, finished, bar, stage, on_progress)
            ran += len(jobs)
            units.update((key, finished[key]) for key in keys)
    finally:
        await persister.close()
        close_task(task)  # what the units run in this process opened
        if isinstance(executor, str):
            runner.close()
        if owned:
            store.close()
    seconds = time.perf_counter() - start
    log.info(
        "sweep %s done: %d units, %d reused (not run again), %d run, in %.1f s",
        config_hash[:12],
        len(units),
        reused,
        ran,
        seconds,
    )
    return SweepResult(config_hash, task.kind, units, reused, ran, seconds, store.display_url, meta)


async def _run_stage(
    runner: Executor,
    task: SweepTask,
    jobs: Sequence[tuple[EpisodeKey, Payload]],
    persister: _Persister,
    finished: dict[EpisodeKey, UnitRecord],
    bar: object | None,
    stage: int,
    on_progress: Progress | None = None,
) -> None:
    from rich.progress import Progress as Bar

    progress = bar if isinstance(bar, Bar) else None
    handle = progress.add_task(f"{task.kind} stage {stage}", total=len(jobs)) if progress else None
    count = 0
    if on_progress is not None:
        on_progress(stage, 0, len(jobs))

    def on_done(records: Sequence[UnitRecord]) -> None:
        nonlocal count
        for record in records:
            finished[record.key] = record
        persister.add(records)
        count += len(records)
        if progress is not None and handle is not None:
            progress.advance(handle, len(records))
        if on_progress is not None:
            on_progress(stage, count, len(jobs))

    if progress is None:
        await runner.map(task, jobs, on_done)
        return
    with progress:
        await runner.map(task, jobs, on_done)


def run_sweep(
    task: SweepTask,
    *,
    store: SweepStore | str | None = None,
    executor: Literal["local", "process", "ray"] | Executor = "local",
    concurrency: int = 32,
    address: str | None = None,
    progress: bool = True,
    on_progress: Progress | None = None,
) -> SweepResult:
    """Run ``task`` to completion, resuming from what ``store`` holds of it.

    Args:
        task: The sweep (``ToMTask``, ``TutoringTask``, or any ``SweepTask``).
        store: A ``SweepStore`` or its URL; None uses ``$LYCEUM_DB`` or
            ``sqlite:///lyceum.db`` (the run store's database).
        executor: ``"local"`` (asyncio in this process), ``"process"`` (a pool of local
            processes, for CPU-bound units), ``"ray"``, or an executor.
        concurrency: The most units in flight at once (per Ray chunk on Ray).
        address: The Ray cluster to join (``"ray"`` only); None starts a local one.
        progress: Show a progress bar with ETA on stderr.
        on_progress: Called as ``on_progress(stage, done, total)`` as each stage starts
            and its units finish (e.g. to drive the app's progress bar).

    Returns:
        Every unit's result, and how many were reused from the store.

    Raises:
        Exception: The first unit's error, with a note naming the unit; every unit
            finished before it is stored.
    """
    sweep = arun_sweep(
        task,
        store=store,
        executor=executor,
        concurrency=concurrency,
        address=address,
        progress=progress,
        on_progress=on_progress,
    )
    return asyncio.run(sweep)

"""Where a sweep's units run: ``LocalExecutor`` (asyncio, bounded concurrency),
``ProcessExecutor`` (a pool of local processes, for CPU-bound units) or ``RayExecutor`` (a
Ray cluster, local or at ``--address``).

An executor gets a stage's jobs (a unit's key and its inputs) and calls ``on_done`` with
each finished unit as soon as it finishes, so the runner can persist it at once. A unit is
a pure function of its key and inputs (``agents.eval.base``), so where it runs does not
change its result.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from agents.eval.base import EpisodeKey, Payload, SweepTask, close_task
from agents.eval.results import UnitRecord

__all__ = ["Executor", "Job", "LocalExecutor", "ProcessExecutor", "RayExecutor", "make_executor"]

Job = tuple[EpisodeKey, Payload]
"""A unit to run: its key and its inputs."""

OnDone = Callable[[Sequence[UnitRecord]], None]


class Executor(Protocol):
    """Runs jobs of a task and reports each finished unit through ``on_done``."""

    async def map(self, task: SweepTask, jobs: Sequence[Job], on_done: OnDone) -> None:
        """Run every job; raise the first unit's error (naming its key)."""
        ...

    def close(self) -> None:
        """Release what the executor holds (a Ray connection it opened)."""
        ...


async def _timed(task: SweepTask, key: EpisodeKey, inputs: Payload) -> UnitRecord:
    start = time.perf_counter()
    try:
        payload = await task.run(key, inputs)
    except Exception as exc:
        exc.add_note(f"in sweep unit {key.text()}")
        raise
    return UnitRecord(key, payload, time.perf_counter() - start)


async def _bounded(task: SweepTask, jobs: Sequence[Job], limit: int, on_done: OnDone) -> None:
    """Run ``jobs`` with at most ``limit`` at a time; the first error cancels the rest."""
    gate = asyncio.Semaphore(limit)

    async def one(key: EpisodeKey, inputs: Payload) -> None:
        async with gate:
            record = await _timed(task, key, inputs)
        on_done([record])

    async with asyncio.TaskGroup() as group:
        for key, inputs in jobs:
            group.create_task(one(key, inputs))


class LocalExecutor:
    """Runs units in this process's event loop, at most ``concurrency`` at a time: what an
    LLM-bound sweep needs (its units wait on a model server). A CPU-bound sweep gains
    nothing from more concurrency here; give it ``RayExecutor``, which uses every core.

    Args:
        concurrency: The most units in flight at once.
    """

    def __init__(self, concurrency: int = 32) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        self.concurrency = concurrency

    async def map(self, task: SweepTask, jobs: Sequence[Job], on_done: OnDone) -> None:
        """Run ``jobs`` with bounded concurrency; each finished unit goes to ``on_done``."""
        try:
            await _bounded(task, jobs, self.concurrency, on_done)
        except ExceptionGroup as group:
            raise group.exceptions[0] from None

    def close(self) -> None:
        """Nothing to release."""


def _run_chunk(task: SweepTask, jobs: Sequence[Job], concurrency: int) -> list[UnitRecord]:
    """A Ray task: run a chunk of units in a worker's own event loop, then close what the
    worker's copy of the task opened for them (``close_task``)."""
    done: list[UnitRecord] = []

    async def run() -> None:
        try:
            await _bounded(task, jobs, concurrency, done.extend)
        except ExceptionGroup as group:
            raise group.exceptions[0] from None

    try:
        asyncio.run(run())
    finally:
        close_task(task)
    return done


def _chunks(jobs: Sequence[Job], size: int) -> list[list[Job]]:
    return [list(jobs[i : i + size]) for i in range(0, len(jobs), size)]


class ProcessExecutor:
    """Runs units in a pool of local worker processes (``spawn``ed, so the task is pickled
    to them as to Ray workers), in chunks, each chunk running its units concurrently in the
    worker's event loop: for CPU-bound sweeps (simulated students) on one machine, without
    a Ray cluster. The pool lives until ``close``, across the sweep's stages.

    Args:
        workers: Worker processes; None uses every CPU.
        concurrency: The most units in flight at once within one chunk.
        chunk: Units per chunk; None picks about four chunks per worker.
    """

    def __init__(
        self, workers: int | None = None, *, concurrency: int = 32, chunk: int | None = None
    ) -> None:
        if concurrency < 1 or (workers is not None and workers < 1):
            raise ValueError(
                f"workers and concurrency must be at least 1, got {workers}, {concurrency}"
            )
        self.workers = workers
        self.concurrency = concurrency
        self.chunk = chunk
        self._pool: Any = None

    async def map(self, task: SweepTask, jobs: Sequence[Job], on_done: OnDone) -> None:
        """Run ``jobs`` in the pool; each finished chunk goes to ``on_done``."""
        if not jobs:
            return
        import multiprocessing
        import os
        from concurrent.futures import ProcessPoolExecutor

        if self._pool is None:
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(self.workers, mp_context=context)
        workers = self.workers or os.cpu_count() or 1
        size = self.chunk or max(1, math.ceil(len(jobs) / (4 * workers)))
        loop = asyncio.get_running_loop()
        futures = [
            loop.run_in_executor(self._pool, _run_chunk, task, chunk, self.concurrency)
            for chunk in _chunks(jobs, size)
        ]
        try:
            for next_done in asyncio.as_completed(futures):
                on_done(await next_done)
        except BaseException:
            for future in futures:
                future.cancel()
            raise

    def close(self) -> None:
        """Stop the worker processes."""
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


class RayExecutor:
    """Runs units on a Ray cluster: the task is pickled once into the object store, and
    the units go out in chunks, each chunk a Ray task that runs its units concurrently in
    the worker's event loop. Results come back chunk by chunk, as chunks finish.

    Args:
        address: A cluster to join (``ray://…`` or ``host:port``); None joins the cluster
            this process already joined, or starts a local one.
        concurrency: The most units in flight at once within one chunk.
        chunk: Units per Ray task; None picks about four chunks per CPU of the cluster.
        init_kwargs: More arguments for ``ray.init`` (``runtime_env``, ``num_cpus``).
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        concurrency: int = 32,
        chunk: int | None = None,
        init_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        self.address = address
        self.concurrency = concurrency
        self.chunk = chunk
        self.init_kwargs = dict(init_kwargs or {})
        self._started = False

    def _ray(self) -> Any:
        try:
            import ray
        except ImportError:
            raise ImportError("the Ray executor needs ray: pip install 'lyceum[ray]'") from None
        if not ray.is_initialized():
            ray.init(address=self.address, logging_level="warning", **self.init_kwargs)
            self._started = True
        return ray

    async def map(self, task: SweepTask, jobs: Sequence[Job], on_done: OnDone) -> None:
        """Run ``jobs`` on the cluster; each finished chunk goes to ``on_done``."""
        if not jobs:
            return
        ray = self._ray()
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        size = self.chunk or max(1, math.ceil(len(jobs) / (4 * cpus)))
        remote = ray.remote(_run_chunk)
        task_ref = ray.put(task)
        refs = [remote.remote(task_ref, chunk, self.concurrency) for chunk in _chunks(jobs, size)]
        try:
            for next_done in asyncio.as_completed([_await(ref) for ref in refs]):
                on_done(await next_done)
        except BaseException:
            for ref in refs:
                ray.cancel(ref)
            raise

    def close(self) -> None:
        """Leave the cluster if this executor joined it."""
        if self._started:
            import ray

            ray.shutdown()
            self._started = False


async def _await(ref: Any) -> list[UnitRecord]:
    """A Ray object ref awaited in asyncio; a unit's error is re-raised as itself."""
    import ray

    try:
        result: list[UnitRecord] = await ref
    except ray.exceptions.RayTaskError as exc:
        raise exc.as_instanceof_cause() from None
    return result


def make_executor(executor: str, *, concurrency: int = 32, address: str | None = None) -> Executor:
    """``"local"``, ``"process"`` or ``"ray"`` as an executor.

    Raises:
        UserError: Another name, or ``address`` given for the local executor.
    """
    from protocols import UserError

    if executor == "local":
        if address is not None:
            raise UserError("--address names a Ray cluster; use it with --executor ray")
        return LocalExecutor(concurrency)
    if executor == "process":
        if address is not None:
            raise UserError("--address names a Ray cluster; use it with --executor ray")
        return ProcessExecutor(concurrency=concurrency)
    if executor == "ray":
        return RayExecutor(address, concurrency=concurrency)
    raise UserError(f"unknown executor {executor!r}; use 'local', 'process' or 'ray'")

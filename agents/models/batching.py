"""Micro-batching for in-process models: concurrent calls share one forward pass.

The first job of a batch waits up to ``window`` seconds for company (at most ``max_size``
jobs), then the whole batch runs in a worker thread and each caller gets its own result.
``TransformersClient`` keeps one batcher for ``complete`` and one for ``score``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["MicroBatcher"]

J = TypeVar("J")
R = TypeVar("R")


@dataclass
class _Pending(Generic[J, R]):
    job: J
    future: asyncio.Future[tuple[R, float]]
    queued: float


class MicroBatcher(Generic[J, R]):
    """Collects concurrent jobs and runs them together with ``run(jobs) -> results``.

    Args:
        run: Runs a batch (in a worker thread); returns one result per job, in order.
        max_size: Most jobs per batch.
        window: Seconds the first job of a batch waits for more.
    """

    def __init__(
        self, run: Callable[[Sequence[J]], Sequence[R]], *, max_size: int, window: float
    ) -> None:
        self.run = run
        self.max_size = max_size
        self.window = window
        self.sizes: list[int] = []
        self._queue: asyncio.Queue[_Pending[J, R]] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def submit(self, job: J) -> tuple[R, float]:
        """Run ``job`` in the next batch; returns its result and its latency in ms."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._worker is None or self._worker.done():
            self._loop = loop
            self._queue = asyncio.Queue()
            self._worker = loop.create_task(self._serve(self._queue))
        assert self._queue is not None
        future: asyncio.Future[tuple[R, float]] = loop.create_future()
        self._queue.put_nowait(_Pending(job, future, time.perf_counter()))
        return await future

    async def _collect(self, queue: asyncio.Queue[_Pending[J, R]]) -> list[_Pending[J, R]]:
        batch = [await queue.get()]
        deadline = time.perf_counter() + self.window
        while len(batch) < self.max_size:
            timeout = deadline - time.perf_counter()
            if timeout <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(queue.get(), timeout))
            except TimeoutError:
                break
        return batch

    async def _serve(self, queue: asyncio.Queue[_Pending[J, R]]) -> None:
        while True:
            batch = await self._collect(queue)
            self.sizes.append(len(batch))
            try:
                results = await asyncio.to_thread(self.run, [p.job for p in batch])
            except Exception as exc:  # noqa: BLE001 - handed to every waiting caller
                for p in batch:
                    if not p.future.done():
                        p.future.set_exception(exc)
                continue
            now = time.perf_counter()
            for p, result in zip(batch, results, strict=True):
                if not p.future.done():
                    p.future.set_result((result, (now - p.queued) * 1000))

    def close(self) -> None:
        """Stop the worker (pending callers are cancelled with it)."""
        if self._worker is not None:
            self._worker.cancel()
            self._worker = None

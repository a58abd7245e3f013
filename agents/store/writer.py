"""``StepWriter``: a run store's writes, off the event loop, in order.

The runtime collects what a step produces (messages, events, model calls) in memory and
hands it to ``submit`` when the step ends. That returns at once: one background thread
writes the steps in the order they were submitted, each step whole in one transaction. The
thread waits up to ``commit_delay`` before each transaction, and the steps that arrive
meanwhile, or while it was busy, are written in that one transaction together (a group
commit, as PostgreSQL's ``commit_delay``); a step is never split, so after a crash the store
holds, for every run, the steps committed before it, each complete. ``drain`` cuts the
wait short.

``call`` runs any other store operation on the same thread (after the steps submitted before
it), so the event loop never blocks on the database; ``drain`` waits for a run's steps at its
end. A write that fails is remembered for its run: no later step of that run is written,
and ``check`` or ``drain`` raises it as a ``StoreError``.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from agents.store.base import RunStore
from agents.store.records import StepRecord
from protocols import StoreError

__all__ = ["StepWriter"]

T = TypeVar("T")


class StepWriter:
    """Writes steps to ``store`` on one background thread (started on first use).

    Args:
        store: The store written to; its methods run only on the writer's thread.
        commit_delay: Seconds the thread waits for more steps before each transaction: a
            kill loses at most the steps of about this long, and each transaction carries
            more steps (one wake-up of the thread and one commit for many steps).
    """

    def __init__(self, store: RunStore, *, commit_delay: float = 0.01) -> None:
        self.store = store
        self.commit_delay = commit_delay
        self._hurry = threading.Event()  # set by drain: commit without waiting
        self._queue: deque[StepRecord] = deque()
        self._failed: dict[str, StoreError] = {}
        self._thread: ThreadPoolExecutor | None = None
        self._scheduled = False  # a _write_queued job is waiting to run

    def __repr__(self) -> str:
        return f"StepWriter({self.store!r})"

    def _executor(self) -> ThreadPoolExecutor:
        if self._thread is None:
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="lyceum-store-writer")
        return self._thread

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` on the writer's thread, after every step submitted before it."""
        return await asyncio.wrap_future(self._executor().submit(fn, *args))

    def submit(self, step: StepRecord) -> None:
        """Queue ``step`` to be written; returns at once."""
        self._queue.append(step)
        if not self._scheduled:  # else the waiting job will take this step too
            self._scheduled = True
            self._executor().submit(self._write_queued)

    def check(self, run_id: str) -> None:
        """Raise the ``StoreError`` of a failed write of this run, if there was one."""
        error = self._failed.get(run_id)
        if error is not None:
            raise error

    async def drain(self, run_id: str) -> None:
        """Wait until every step submitted so far is written, then raise the run's
        ``StoreError`` if one of its writes failed (and forget it)."""
        self._hurry.set()
        await self.call(_nothing)
        error = self._failed.pop(run_id, None)
        if error is not None:
            raise error

    # -- the writer thread -------------------------------------------------------------
    def _write_queued(self) -> None:
        # Wait a moment, so that the steps of the next few milliseconds join this
        # transaction (a group commit), unless a run is waiting for its end to be written.
        self._hurry.wait(self.commit_delay)
        self._hurry.clear()
        # Cleared before the queue is read: a step queued after this line schedules a
        # new job, one queued before it is taken here; none is left behind.
        self._scheduled = False
        steps: list[StepRecord] = []
        while self._queue:  # only this thread takes from the queue
            step = self._queue.popleft()
            if step.run_id not in self._failed:
                steps.append(step)
        if not steps:
            return
        try:
            self.store.write_steps(steps)
        except Exception as exc:  # noqa: BLE001 - reported by check() and drain()
            if len(steps) == 1:
                self._fail(steps[0], exc)
                return
            for step in steps:  # written again one by one, to learn whose step failed
                if step.run_id in self._failed:
                    continue
                try:
                    self.store.write_steps([step])
                except Exception as one:  # noqa: BLE001 - as above
                    self._fail(step, one)

    def _fail(self, step: StepRecord, exc: Exception) -> None:
        if isinstance(exc, StoreError):
            self._failed[step.run_id] = exc
            return
        error = StoreError(
            f"writing run {step.run_id} to {self.store.display_url} failed: "
            f"{type(exc).__name__}: {exc}"
        )
        error.__cause__ = exc
        self._failed[step.run_id] = error


def _nothing() -> None:
    return None

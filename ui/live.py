"""``LiveJob``: a coroutine running on its own event loop in a background thread, that a
Streamlit page starts, polls and stops.

A page keeps the job in its browser session's state (``ui.common.session().extra``), so
two sessions never share one. The job's coroutine reports through ``push`` (thread-safe,
e.g. a run's observer); the page ``drain``s what arrived on each rerun (an
``st.fragment(run_every=...)`` polls while the job runs). ``stop`` cancels the coroutine
on its loop: a ``Runtime`` run records itself ``interrupted`` and the job ends
``cancelled``, with no trace shown.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable, Coroutine
from typing import Any, Generic, Literal, TypeVar

__all__ = ["JobState", "LiveJob"]

T = TypeVar("T")

JobState = Literal["running", "done", "failed", "cancelled"]
"""Where a job is: still running, finished with a result, failed with an error, or
stopped by the user."""


class LiveJob(Generic[T]):
    """Run ``make(job)`` (a coroutine function given this job) on a fresh event loop in a
    daemon thread, started at once.

    Attributes:
        result: The coroutine's value once ``state`` is ``done``.
        error: Its exception once ``state`` is ``failed``.
        name: What the job is, for the page (e.g. ``"classroom"``).
    """

    def __init__(self, make: Callable[[LiveJob[T]], Coroutine[Any, Any, T]], name: str) -> None:
        self.name = name
        self.result: T | None = None
        self.error: BaseException | None = None
        self._state: JobState = "running"
        self._inbox: queue.Queue[Any] = queue.Queue()
        self._loop = asyncio.new_event_loop()
        self._task: asyncio.Task[T] | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(
            target=self._main, args=(make,), name=f"lyceum-{name}", daemon=True
        )
        self._thread.start()
        self._started.wait()

    def _main(self, make: Callable[[LiveJob[T]], Coroutine[Any, Any, T]]) -> None:
        asyncio.set_event_loop(self._loop)
        self._task = self._loop.create_task(make(self))
        self._started.set()
        try:
            self.result = self._loop.run_until_complete(self._task)
            self._state = "done"
        except asyncio.CancelledError:
            self._state = "cancelled"
        except Exception as exc:  # noqa: BLE001 - shown as an error box by the page
            self.error = exc
            self._state = "failed"
        finally:
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

    @property
    def state(self) -> JobState:
        """``running``, ``done``, ``failed`` or ``cancelled``."""
        return self._state

    @property
    def running(self) -> bool:
        """Whether the coroutine has not ended yet."""
        return self._state == "running"

    def push(self, item: Any) -> None:
        """Hand ``item`` to the page (any thread); it arrives with the next ``drain``."""
        self._inbox.put(item)

    def drain(self) -> list[Any]:
        """Everything pushed since the last drain, in order."""
        items = []
        while True:
            try:
                items.append(self._inbox.get_nowait())
            except queue.Empty:
                return items

    def call_soon(self, fn: Callable[..., object], *args: Any) -> None:
        """Call ``fn(*args)`` on the job's loop (e.g. ``QueueInput.put``, which is not
        thread-safe); nothing happens once the job has ended."""
        if self.running:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                self._loop.call_soon_threadsafe(fn, *args)

    def stop(self) -> None:
        """Cancel the coroutine (a run records itself ``interrupted``)."""
        if self._task is not None:
            self.call_soon(self._task.cancel)

    def join(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds for the job to end; True when it has."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

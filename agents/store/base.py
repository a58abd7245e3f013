"""``RunStore``: the interface every run store implements.

The runtime, the CLI and the UI use only these operations. Every backend passes the one
conformance suite (``tests/test_run_store_conformance.py``). The methods are synchronous
and may block on I/O: the runtime calls them on its writer thread (``StepWriter``), never
on the event loop.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import timedelta
from typing import Self

from agents.store.records import ModelCallRecord, RunRecord, StepRecord
from protocols import Event, Message

__all__ = ["RunStore"]


class RunStore(ABC):
    """Where runs, their messages, events and model calls are kept.

    A run is created with ``create_run`` (status ``running``), grows one step at a time
    with ``write_steps`` and ends with the step that carries its ``finish``. A ``running``
    run whose process is gone is reported as ``interrupted`` when read.

    Attributes:
        stale_after: A ``running`` run from another host whose heartbeat (refreshed by
            every step) is older than this is reported as ``interrupted``.
    """

    stale_after: timedelta = timedelta(minutes=10)

    @property
    @abstractmethod
    def display_url(self) -> str:
        """Where the store is, as it may be printed or logged (no passwords)."""

    def init(self) -> Self:
        """Create or upgrade the schema now (otherwise done on first use)."""
        return self

    def close(self) -> None:
        """Release connections; the store reopens on next use."""
        return None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writes ------------------------------------------------------------------------
    @abstractmethod
    def create_run(self, run: RunRecord) -> None:
        """Add a new run, ``running``, with no messages yet."""

    @abstractmethod
    def write_steps(self, steps: Sequence[StepRecord]) -> None:
        """Write ``steps`` in order in one transaction: all of them or, on an error, none.

        Each step's messages, events and model calls are added, the heartbeat of each run
        written to is refreshed, and a step with ``finish`` records the run's outcome."""

    def write_step(self, step: StepRecord) -> None:
        """Write one step in its own transaction."""
        self.write_steps([step])

    # -- reads -------------------------------------------------------------------------
    @abstractmethod
    def get_run(self, run_id: str) -> RunRecord:
        """The run with this id, or with this unique id prefix.

        Raises:
            UserError: No run, or more than one, matches."""

    @abstractmethod
    def list_runs(self, limit: int = 20) -> list[RunRecord]:
        """The newest runs first."""

    @abstractmethod
    def messages(self, run_id: str) -> list[Message]:
        """The run's messages in order."""

    @abstractmethod
    def events(self, run_id: str) -> list[Event]:
        """The run's stored events in order (token deltas are not stored)."""

    @abstractmethod
    def model_calls(self, run_id: str) -> list[ModelCallRecord]:
        """The run's model calls in the order they were made."""

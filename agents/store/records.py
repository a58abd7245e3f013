"""Typed records read from and written to the run store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from protocols import Event, Message

__all__ = ["ModelCallRecord", "RunFinish", "RunRecord", "StepRecord"]


class RunRecord(BaseModel):
    """A run as stored. ``status`` is running, completed, stopped, interrupted or error."""

    model_config = ConfigDict(frozen=True)

    id: str
    created_at: datetime
    finished_at: datetime | None = None
    status: str = "running"
    stop_reason: str | None = None
    stop_detail: str | None = None
    seed: int
    budget: dict[str, Any]
    usage: dict[str, Any] = {}
    graph_mermaid: str
    graph_source: dict[str, Any] | None = None
    initial_message: Message
    replay_of: str | None = None
    message_count: int = 0


class ModelCallRecord(BaseModel):
    """One model call: the normalised request, the response or error, latency and tokens.

    The request holds only the chat messages and sampling settings: never headers or keys.
    ``usage_estimated`` is True when the server reported no usage and the tokens were
    counted by the client or estimated (``protocols.models.Usage.estimated``). A structured
    call's attempts are separate records; ``request["structured_attempt"]`` numbers them
    (1 for the first ask, 2 for the first re-ask, ...).
    """

    model_config = ConfigDict(frozen=True)

    id: str
    run_id: str
    seq: int
    agent: str
    client: str
    model: str
    request_hash: str
    request: dict[str, Any]
    response: dict[str, Any] | None
    status: str
    error: str | None = None
    latency_ms: float
    prompt_tokens: int = 0
    completion_tokens: int = 0
    usage_estimated: bool = False
    attempts: int = 1
    created_at: datetime

    @field_validator("created_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        from datetime import UTC

        return value.replace(tzinfo=UTC) if value.tzinfo is None else value


class RunFinish(BaseModel):
    """How a run ended: written with its last step, so the ``Stop`` message and the run's
    final status commit together."""

    model_config = ConfigDict(frozen=True)

    status: str
    reason: str
    detail: str
    usage: dict[str, Any]
    finished_at: datetime


@dataclass(frozen=True, slots=True)
class StepRecord:
    """What one runtime step writes: all of it in one transaction, or none of it.

    Attributes:
        run_id: The run the step belongs to.
        messages: The step's messages, each with its sequence number in the run.
        events: The step's events (token deltas are never stored), each with its number.
        model_calls: The model calls that finished during the step.
        finish: The run's outcome, on its last step only.
    """

    run_id: str
    messages: tuple[tuple[int, Message], ...] = ()
    events: tuple[tuple[int, Event], ...] = ()
    model_calls: tuple[ModelCallRecord, ...] = ()
    finish: RunFinish | None = None

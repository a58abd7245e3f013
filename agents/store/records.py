"""Typed records read from and written to the run store."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from protocols import Message

__all__ = ["ModelCallRecord", "RunRecord"]


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
    attempts: int = 1
    created_at: datetime

    @field_validator("created_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        from datetime import UTC

        return value.replace(tzinfo=UTC) if value.tzinfo is None else value

"""Events: what observers (the UI, tracing, the CLI) see of a run. Separate from messages.

Events are not sent between agents. ``Runtime.stream`` yields them live, including the
tokens of streamed model calls; all except ``TokenDelta`` are persisted with the run.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from protocols.messages import Message, StopReason

__all__ = [
    "EVENT_ADAPTER",
    "BudgetWarning",
    "Event",
    "MessageSent",
    "ModelCallFinished",
    "ModelCallStarted",
    "RunStarted",
    "RunStopped",
    "TokenDelta",
]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class _EventBase(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    run_id: str
    timestamp: datetime = Field(default_factory=_utc_now)


class RunStarted(_EventBase):
    """A run began. ``graph`` is its mermaid rendering; ``budget`` its limits."""

    kind: Literal["run_started"] = "run_started"
    graph: str
    budget: dict[str, Any]
    seed: int


class RunStopped(_EventBase):
    """A run ended, for ``reason``. Always the last event of a run."""

    kind: Literal["run_stopped"] = "run_stopped"
    reason: StopReason
    detail: str = ""
    usage: dict[str, float] = Field(default_factory=dict)


class MessageSent(_EventBase):
    """A message was delivered (and persisted)."""

    kind: Literal["message_sent"] = "message_sent"
    message: Message


class ModelCallStarted(_EventBase):
    """An agent called a model."""

    kind: Literal["model_call_started"] = "model_call_started"
    call_id: str
    agent: str
    client: str
    model: str


class ModelCallFinished(_EventBase):
    """A model call ended; ``error`` is set when it failed for good. ``tokens_estimated``
    is True when the token counts were counted or estimated here, not reported by the
    server (``Usage.estimated``)."""

    kind: Literal["model_call_finished"] = "model_call_finished"
    call_id: str
    agent: str
    latency_ms: float
    prompt_tokens: int = 0
    completion_tokens: int = 0
    tokens_estimated: bool = False
    error: str | None = None


class TokenDelta(_EventBase):
    """A piece of streamed model output, for live display. Not persisted."""

    kind: Literal["token_delta"] = "token_delta"
    call_id: str
    agent: str
    text: str


class BudgetWarning(_EventBase):
    """A budget crossed 80% of its limit."""

    kind: Literal["budget_warning"] = "budget_warning"
    resource: str
    used: float
    limit: float


Event = Annotated[
    RunStarted
    | RunStopped
    | MessageSent
    | ModelCallStarted
    | ModelCallFinished
    | TokenDelta
    | BudgetWarning,
    Field(discriminator="kind"),
]
"""Any event. Serialised with ``EVENT_ADAPTER``."""

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)

"""The model-client seam: one abstract async method, optional streaming and scoring.

A client turns a ``ModelRequest`` into a ``ModelResponse`` carrying usage and latency.
Streaming (``stream``) and logprob scoring (``score``) are optional capabilities: a client
that lacks one raises ``NotImplementedError`` naming its class.
"""

from __future__ import annotations

import hashlib
import json
import os
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from protocols import ModelRequestsBlocked

T = TypeVar("T", bound=BaseModel)

__all__ = [
    "BLOCK_ENV",
    "ChatMessage",
    "ModelClient",
    "ModelRequest",
    "ModelResponse",
    "TextDelta",
    "Usage",
    "call_hash",
    "check_model_requests_allowed",
]

BLOCK_ENV = "LYCEUM_BLOCK_MODEL_REQUESTS"
"""When this environment variable is ``1``, clients that reach real models refuse to run.
The project's test suite sets it; a test opts in with the ``allow_model_requests`` marker."""


def call_hash(model: str, op: str, request: dict[str, Any]) -> str:
    """SHA-256 of a normalised call: model name, operation and request as sorted-key JSON."""
    canonical = json.dumps(
        {"model": model, "op": op, "request": request},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_model_requests_allowed(client: str, target: str) -> None:
    """Raise ``ModelRequestsBlocked`` if real model requests are forbidden (in tests)."""
    if os.environ.get(BLOCK_ENV) == "1":
        raise ModelRequestsBlocked(
            f"{client} tried to reach a real model at {target}, but model requests are "
            f"blocked ({BLOCK_ENV}=1, set by the test suite). Use FunctionModel or "
            "ReplayModel, or mark the test with @pytest.mark.allow_model_requests."
        )


class ChatMessage(BaseModel):
    """One chat turn sent to a model."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Literal["system", "user", "assistant"]
    content: str


class ModelRequest(BaseModel):
    """What to ask a model. Normalised and hashed for caching and replay.

    Attributes:
        messages: The chat history, oldest first.
        max_tokens: Upper bound on generated tokens.
        temperature: Sampling temperature; 0 means greedy.
        stop: Stop sequences.
        seed: Sampling seed, passed to backends that honour it.
        response_schema: JSON Schema the reply must follow (structured output), if any.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    messages: tuple[ChatMessage, ...]
    max_tokens: int | None = Field(default=256, gt=0)
    temperature: float = Field(default=0.0, ge=0.0)
    stop: tuple[str, ...] = ()
    seed: int | None = None
    response_schema: dict[str, Any] | None = None

    @classmethod
    def of(cls, prompt: str, *, system: str | None = None, **options: Any) -> ModelRequest:
        """A one-turn request: an optional system message and one user message."""
        turns = [ChatMessage(role="system", content=system)] if system else []
        turns.append(ChatMessage(role="user", content=prompt))
        return cls(messages=tuple(turns), **options)

    def then(self, reply: str, follow_up: str) -> ModelRequest:
        """This request extended with the model's ``reply`` and a new user turn."""
        extra = (
            ChatMessage(role="assistant", content=reply),
            ChatMessage(role="user", content=follow_up),
        )
        return self.model_copy(update={"messages": self.messages + extra})

    def request_hash(self, model: str) -> str:
        """The hash that identifies this request to ``model`` in caches and replays."""
        return call_hash(model, "complete", self.model_dump(mode="json"))


class Usage(BaseModel):
    """Token usage of one call."""

    model_config = ConfigDict(frozen=True)

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class ModelResponse(BaseModel):
    """A model's reply with usage and latency."""

    model_config = ConfigDict(frozen=True)

    text: str
    model: str
    usage: Usage = Field(default_factory=Usage)
    latency_ms: float = 0.0
    finish_reason: str | None = None
    attempts: int = 1


class TextDelta(BaseModel):
    """A piece of streamed text."""

    model_config = ConfigDict(frozen=True)

    text: str


class ModelClient(ABC):
    """Reaches a language model. Subclasses implement ``complete``; the rest is optional.

    Attributes:
        model: The model identifier sent to the backend and recorded with each call.
    """

    model: str = "unknown"

    @abstractmethod
    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Return the model's reply to ``request``."""

    def stream(self, request: ModelRequest) -> AsyncIterator[TextDelta | ModelResponse]:
        """Yield ``TextDelta`` pieces, then the final ``ModelResponse`` (with usage)."""
        raise NotImplementedError(f"{type(self).__name__} does not support streaming")

    async def score(self, prompt: str, continuations: Sequence[str]) -> list[float]:
        """Total log-probability of each continuation given ``prompt`` (natural log)."""
        raise NotImplementedError(f"{type(self).__name__} does not support logprob scoring")

    async def complete_structured(
        self, request: ModelRequest, output_type: type[T], *, max_retries: int = 2
    ) -> T:
        """A reply validated as ``output_type``: re-asks with the validation error up to
        ``max_retries`` times, then raises ``UnexpectedModelOutput`` carrying the raw text.
        Inside a run, prefer ``ctx.complete_structured`` so every attempt is recorded."""
        from agents.models.structured import complete_structured

        value, _ = await complete_structured(
            self.complete, request, output_type, max_retries=max_retries
        )
        return value

    async def aclose(self) -> None:
        """Release resources (HTTP connections, model weights). Safe to call twice."""
        return None

    def describe(self) -> str:
        """A short human-readable name, recorded with each call. Never contains secrets."""
        return f"{type(self).__name__}({self.model})"

"""The model vocabulary: what is asked of a model, what it answers, and the context through
which an agent asks.

Personas are typed against these names; ``agents.models`` implements the clients and
re-exports them. A request is frozen and hashed (for caches and replays), so what a model
is asked is data::

    >>> from protocols.models import ModelRequest
    >>> ModelRequest.of("What is 3/4 - 1/2?", max_tokens=32).messages[-1].content
    'What is 3/4 - 1/2?'

Inside a run an agent reaches a model only through its ``ModelContext`` (``ctx``): every
call is budgeted and recorded, structured output included (``ctx.complete(model, request,
output=SomeModel)``).
"""

from __future__ import annotations

import hashlib
import json
import random
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from typing import Any, Literal, Protocol, TypeVar, overload, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ChatMessage",
    "ModelClient",
    "ModelContext",
    "ModelRequest",
    "ModelResponse",
    "TextDelta",
    "Usage",
    "call_hash",
]

T = TypeVar("T", bound=BaseModel)


def call_hash(model: str, op: str, request: dict[str, Any]) -> str:
    """SHA-256 of a normalised call: model name, operation and request as sorted-key JSON."""
    canonical = json.dumps(
        {"model": model, "op": op, "request": request},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


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
        output_type: The pydantic model the reply is validated into, set by
            ``ctx.complete(..., output=...)``. Local only: never sent to a server, stored or
            hashed; test doubles dispatch on it (``request.output_type is ThoughtVars``,
            ``issubclass(request.output_type, PlanOut)``) instead of reading the prompt.
        schema_in_prompt: The prompt already states ``response_schema`` (the persona and
            planner templates end with it), so a client speaking the prompt-only dialect
            asks for JSON without writing the schema a second time. Local, like
            ``output_type``: never sent, stored or hashed.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    messages: tuple[ChatMessage, ...]
    max_tokens: int | None = Field(default=256, gt=0)
    temperature: float = Field(default=0.0, ge=0.0)
    stop: tuple[str, ...] = ()
    seed: int | None = None
    response_schema: dict[str, Any] | None = None
    output_type: type[BaseModel] | None = Field(default=None, exclude=True, repr=False)
    schema_in_prompt: bool = Field(default=False, exclude=True, repr=False)

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
    """Token usage of one call.

    Attributes:
        prompt_tokens: Tokens of the prompt.
        completion_tokens: Tokens of the reply.
        estimated: True when the numbers were counted by the client (with a local
            tokenizer) or estimated, because the server reported no usage; False when
            they are the server's own count.
    """

    model_config = ConfigDict(frozen=True)

    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated: bool = False

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

    Agents never call a client directly inside a run: they pass it to ``ctx.complete``
    (or ``ctx.stream``, ``ctx.score``), which budgets and records the call.

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

    async def aclose(self) -> None:
        """Release resources (HTTP connections, model weights). Safe to call twice."""
        return None

    def describe(self) -> str:
        """A short human-readable name, recorded with each call. Never contains secrets."""
        return f"{type(self).__name__}({self.model})"


@runtime_checkable
class ModelContext(Protocol):
    """What an agent (or a persona's mind, or a tool) gets of its run: ids, a seeded RNG,
    its per-run state, and the one path to a model, budgeted and recorded.
    ``agents.RunContext`` implements it.

    Attributes:
        run_id: The run's id.
        agent: The name of the agent this context belongs to.
        rng: A ``random.Random`` seeded from the run seed and the agent name.
        state: The agent's state for this run (from its ``new_state()``), or None.
    """

    run_id: str
    agent: str
    rng: random.Random
    state: Any

    @overload
    async def complete(
        self, client: ModelClient, request: ModelRequest, *, output: None = None
    ) -> ModelResponse: ...

    @overload
    async def complete(
        self, client: ModelClient, request: ModelRequest, *, output: type[T], max_retries: int = 2
    ) -> T: ...

    async def complete(
        self,
        client: ModelClient,
        request: ModelRequest,
        *,
        output: type[T] | None = None,
        max_retries: int = 2,
    ) -> ModelResponse | T:
        """Call ``client``. With ``output``, the reply is validated into that model and
        re-asked with the validation error up to ``max_retries`` times (each attempt
        budgeted and recorded); ``UnexpectedModelOutput`` after the last."""
        ...

    def stream(self, client: ModelClient, request: ModelRequest) -> AsyncIterator[str]:
        """Stream ``client``'s reply text."""
        ...

    async def score(
        self, client: ModelClient, prompt: str, continuations: Sequence[str]
    ) -> list[float]:
        """Log-probabilities of ``continuations`` after ``prompt``."""
        ...

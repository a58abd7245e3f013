"""The ``Agent`` protocol and the ``RunContext`` an agent gets with each message.

An agent is anything with a ``name`` and an async ``handle(message, ctx)`` that returns the
messages it sends. It calls models only through ``ctx`` so that every call is budgeted,
recorded in the store and replayable::

    class Echo:
        name = "echo"

        async def handle(self, message: Message, ctx: RunContext) -> list[Message]:
            reply = await ctx.complete(model, ModelRequest.of(message.text))
            return [Answer(text=reply.text)]
"""

from __future__ import annotations

import inspect
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel

from agents.models.base import ModelClient, ModelRequest, ModelResponse
from agents.models.structured import complete_structured
from protocols import Envelope, Message, UserError

if TYPE_CHECKING:
    from agents.gateway import ModelGateway

__all__ = ["Agent", "FunctionAgent", "RunContext", "StatefulAgent"]

T = TypeVar("T", bound=BaseModel)


@runtime_checkable
class Agent(Protocol):
    """What the runtime needs of an agent.

    Attributes:
        name: Unique name within a graph; messages address agents by it.
    """

    name: str

    async def handle(self, message: Message, ctx: RunContext) -> Sequence[Envelope]:
        """React to one delivered message; return the messages to send (maybe none)."""
        ...


@runtime_checkable
class StatefulAgent(Agent, Protocol):
    """An agent that keeps state during a run (a conversation history, a lesson's place).

    The instance is configuration, shared by every run of its graph, replays and concurrent
    runs included; what changes during a run lives in the object ``new_state()`` returns.
    The runtime calls it once per run, before the first message, and passes the object on
    every turn as ``ctx.state`` (``personas.run_state(ctx, cls)`` reads it type-checked)::

        class Counter:
            name = "counter"

            def new_state(self) -> list[str]:
                return []

            async def handle(self, message: Message, ctx: RunContext) -> list[Message]:
                seen = ctx.state  # this run's list, empty at the run's start
                seen.append(message.id)
                return []
    """

    def new_state(self) -> object:
        """A fresh state for one run."""
        ...


class RunContext:
    """Per-agent view of a run: ids, a seeded RNG, and budgeted, recorded model calls.

    Attributes:
        run_id: The run's id.
        agent: The name of the agent this context belongs to.
        rng: A ``random.Random`` seeded from the run seed and the agent name.
        state: The agent's state for this run: what its ``new_state()`` returned when the run
            began (see ``StatefulAgent``), or None for an agent without one.
    """

    def __init__(
        self,
        *,
        run_id: str,
        agent: str,
        rng: random.Random,
        gateway: ModelGateway,
        state: Any = None,
    ):
        self.run_id = run_id
        self.agent = agent
        self.rng = rng
        self.state = state
        self._gateway = gateway

    async def complete(self, client: ModelClient, request: ModelRequest) -> ModelResponse:
        """Call ``client``: counted against the budget, recorded, replayable."""
        return await self._gateway.complete(self.agent, client, request)

    async def stream(self, client: ModelClient, request: ModelRequest) -> AsyncIterator[str]:
        """Stream ``client``'s reply; pieces also go out as ``TokenDelta`` events."""
        async for piece in self._gateway.stream(self.agent, client, request):
            yield piece

    async def complete_structured(
        self,
        client: ModelClient,
        request: ModelRequest,
        output_type: type[T],
        *,
        max_retries: int = 2,
    ) -> T:
        """A reply validated as ``output_type``, re-asking with the error up to
        ``max_retries`` times; raises ``UnexpectedModelOutput`` with the raw text after."""

        async def call(req: ModelRequest) -> ModelResponse:
            return await self.complete(client, req)

        value, _ = await complete_structured(call, request, output_type, max_retries=max_retries)
        return value

    async def say(
        self, client: ModelClient, prompt: str, *, system: str | None = None, max_tokens: int = 256
    ) -> str:
        """The reply text to a one-turn prompt (budgeted and recorded like ``complete``)."""
        request = ModelRequest.of(prompt, system=system, max_tokens=max_tokens)
        return (await self.complete(client, request)).text

    async def ask(
        self,
        client: ModelClient,
        prompt: str,
        output_type: type[T],
        *,
        system: str | None = None,
        max_retries: int = 2,
        max_tokens: int = 512,
    ) -> T:
        """``complete_structured`` for a one-turn prompt: what persona minds call."""
        request = ModelRequest.of(prompt, system=system, max_tokens=max_tokens)
        return await self.complete_structured(client, request, output_type, max_retries=max_retries)

    async def score(
        self, client: ModelClient, prompt: str, continuations: Sequence[str]
    ) -> list[float]:
        """Log-probabilities of ``continuations`` after ``prompt`` (one budgeted call)."""
        return await self._gateway.score(self.agent, client, prompt, list(continuations))


Handler = Callable[[Message, RunContext], "Sequence[Envelope] | Envelope | Awaitable[Any] | None"]


class FunctionAgent:
    """An agent from a function ``fn(message, ctx)`` (sync or async) that returns a message,
    a list of messages, or None.

    Args:
        name: The agent's name.
        fn: The handler.
        emits: Message classes it may send; edges are checked against them when given.
    """

    def __init__(self, name: str, fn: Handler, *, emits: Sequence[type[Envelope]] | None = None):
        if not name or not isinstance(name, str):
            raise UserError(f"an agent needs a non-empty string name, got {name!r}")
        self.name = name
        self._fn = fn
        self.emits = tuple(emits) if emits is not None else None

    def __repr__(self) -> str:
        return f"FunctionAgent({self.name!r})"

    async def handle(self, message: Message, ctx: RunContext) -> Sequence[Envelope]:
        result = self._fn(message, ctx)
        if inspect.isawaitable(result):
            result = await result
        if result is None:
            return []
        if isinstance(result, Envelope):
            return [result]
        return list(result)

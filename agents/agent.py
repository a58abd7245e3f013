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
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, overload, runtime_checkable

from pydantic import BaseModel

from agents.models.base import ModelClient, ModelRequest, ModelResponse
from agents.models.structured import complete_structured
from protocols import Envelope, Message, ModelContext, UserError

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


class RunContext(ModelContext):
    """Per-agent view of a run: ids, a seeded RNG, and budgeted, recorded model calls.
    It implements ``protocols.ModelContext``, the type personas and tools are written
    against; ``complete`` is the one way to reach a model, structured output included.

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
        """Call ``client``: counted against the budget, recorded, replayable.

        Args:
            client: The model client.
            request: What to ask.
            output: A pydantic model to validate the reply into. The request then carries
                its JSON schema (``response_schema``) and type (``output_type``); a reply
                that does not validate is re-asked with the error.
            max_retries: Re-asks after the first invalid reply (only with ``output``).

        Returns:
            The ``ModelResponse``, or the validated ``output`` instance.

        Raises:
            UnexpectedModelOutput: With ``output``, when the last re-ask still fails; it
                carries the raw text.
            BudgetExceeded: When the run's model-call or token budget is spent.
        """
        if output is None:
            return await self._gateway.complete(self.agent, client, request)

        attempts = 0

        async def attempt(req: ModelRequest) -> ModelResponse:
            nonlocal attempts
            attempts += 1
            return await self._gateway.complete(
                self.agent, client, req, structured_attempt=attempts
            )

        value, _ = await complete_structured(attempt, request, output, max_retries=max_retries)
        return value

    async def stream(self, client: ModelClient, request: ModelRequest) -> AsyncIterator[str]:
        """Stream ``client``'s reply; pieces also go out as ``TokenDelta`` events."""
        async for piece in self._gateway.stream(self.agent, client, request):
            yield piece

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
        state: Makes the agent's state for one run (``ctx.state`` in ``fn``), called as each
            run starts, so that a second run starts afresh; None: ``ctx.state`` is None.

    Example:
        A counter whose count belongs to the run, not to the agent::

            counter = FunctionAgent("counter", count, state=lambda: {"seen": 0})
    """

    def __init__(
        self,
        name: str,
        fn: Handler,
        *,
        emits: Sequence[type[Envelope]] | None = None,
        state: Callable[[], object] | None = None,
    ):
        if not name or not isinstance(name, str):
            raise UserError(f"an agent needs a non-empty string name, got {name!r}")
        if state is not None and not callable(state):
            raise UserError(
                f"state must be a function that makes a run's state, got {state!r}; "
                "pass e.g. state=dict or state=lambda: {'seen': 0}"
            )
        self.name = name
        self._fn = fn
        self._state = state
        self.emits = tuple(emits) if emits is not None else None

    def new_state(self) -> object:
        """A fresh state for one run (``state()``), or None without ``state``."""
        return self._state() if self._state is not None else None

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

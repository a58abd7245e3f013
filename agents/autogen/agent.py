"""``PersonaChatAgent``: a lyceum persona (or any lyceum agent) as an AgentChat agent.

Each time AgentChat hands the agent new messages (``on_messages``), the persona takes one
turn as **one lyceum run**: the last new message, mapped to a typed lyceum message
(``agents.autogen.messages``), is delivered to the persona by a ``Runtime`` under a
``Budget`` that always stops the turn; with a store (``Runtime(store=...)``) the turn is
persisted, model calls included (``lyceum runs show``). The earlier new
messages (the task, other agents' turns) are added to a ``Persona``'s conversation history
as ``"source: text"`` lines, so it hears the whole conversation; inside the run the AutoGen
side is the outside world, ``user``. A message that names no item is taken to be about the
item under discussion (the persona's ``PersonaState.item_id``). Called with no new
messages (AgentChat calls a lone agent again with nothing new), the persona gets an empty
``Question`` from ``user``.

What the persona remembers between turns (its ``new_state()``) belongs to the AutoGen
conversation: it is made on the first turn, handed to every lyceum run of the
conversation as the persona's run state, and dropped by ``on_reset`` (``team.reset()``).
The ``Persona`` itself keeps nothing, so one persona may back several agents and graphs.
``save_state``/``load_state`` (``team.save_state()``) carry the conversation as JSON data
(``agents.autogen.state``): a resumed conversation goes on as the saved one would have.

Termination stays with AutoGen: the persona's ``Stop`` (or a turn its budget stopped) is an
AgentChat ``StopMessage``, which AutoGen's termination conditions see by type. A turn in
which the persona failed raises ``PersonaTurnError``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from autogen_agentchat.agents import BaseChatAgent
from autogen_agentchat.base import Response
from autogen_agentchat.messages import (
    BaseAgentEvent,
    BaseChatMessage,
    StopMessage,
    StructuredMessage,
    TextMessage,
)
from autogen_core import CancellationToken

from agents.agent import Agent, RunContext
from agents.autogen.messages import LyceumContent, from_autogen, observed, to_autogen
from agents.autogen.state import PersonaChatAgentState, dump_conversation, load_conversation
from agents.budget import Budget
from agents.graph import AgentGraph
from agents.runtime import USER, RunResult, Runtime
from personas import PersonaState
from protocols import (
    Envelope,
    Error,
    LyceumError,
    Mastery,
    Message,
    Plan,
    Stop,
    StopReason,
    Thought,
    ToolCall,
    ToolResult,
    UserError,
)
from protocols.text import message_text

__all__ = ["PersonaChatAgent", "PersonaTurnError"]

OBSERVED = (Thought, Plan, Mastery, ToolCall, ToolResult)
"""Kinds that tell people how a turn was taken, not what was said: inner ``ThoughtEvent``s."""
Incoming = Callable[[BaseChatMessage], Envelope]


class PersonaTurnError(LyceumError):
    """A persona's turn failed inside its lyceum run (the run records the ``Error``).

    Attributes:
        run_id: The lyceum run of the turn.
        error_type: The class name of the persona's exception.
        detail: Its message.
    """

    def __init__(self, agent: str, run_id: str, error_type: str, detail: str) -> None:
        self.run_id = run_id
        self.error_type = error_type
        self.detail = detail
        super().__init__(
            f"{agent}'s turn failed with {error_type}: {detail} (lyceum run {run_id}; "
            f"`lyceum runs show {run_id}` shows it when the run was stored)"
        )


@dataclass
class _Conversation:
    """One AutoGen conversation of the agent: the persona's state and its runs."""

    state: object
    run_ids: list[str] = field(default_factory=list)


class _Turn:
    """The persona as the one agent of a turn's graph, with the conversation's state."""

    def __init__(self, persona: Agent, state: object) -> None:
        self.name = persona.name
        self._persona = persona
        self._state = state

    def new_state(self) -> object:
        return self._state

    async def handle(self, message: Message, ctx: RunContext) -> list[Envelope]:
        replies = await self._persona.handle(message, ctx)
        # AutoGen picks the next speaker: every reply goes back to it (the run's outside
        # world, ``user``), never along lyceum edges.
        return [r.model_copy(update={"recipients": (USER,)}) for r in replies]


def _about(message: Envelope, item_id: str | None) -> Envelope:
    """``message`` about the item under discussion when it names none (AutoGen text carries
    no item; a persona's own messages do, in ``metadata["item_id"]``)."""
    named = getattr(message, "item_id", None)
    if item_id and "item_id" in type(message).model_fields and not named:
        return message.model_copy(update={"item_id": item_id})
    return message


def _stop(reason: StopReason, detail: str, source: str) -> StopMessage:
    """The AgentChat stop of a turn a bound stopped."""
    return StopMessage(
        content=message_text(Stop(reason=reason, detail=detail)),
        source=source,
        metadata={"lyceum_kind": "stop", "lyceum_stop": reason},
    )


class PersonaChatAgent(BaseChatAgent):
    """A lyceum persona as an AutoGen AgentChat agent (``RoundRobinGroupChat``,
    ``SelectorGroupChat``, or ``agent.run(task=...)``).

    Args:
        persona: The persona (``personas.Persona``), or any lyceum agent (an object with
            ``name`` and ``async handle(message, ctx)``, e.g. ``SimulatedStudent``). Its
            name must be a Python identifier (AgentChat's rule).
        description: What it does, for selectors; default: the persona's profile.
        runtime: Runs each turn; ``Runtime(store=...)`` persists them (default: in memory).
        budget: The bound of each turn's run (default ``Budget()``).
        seed: Turn ``n`` (0, 1, ...) of a conversation runs with seed ``seed + n``.
        max_turns: The most turns the persona takes in one conversation (until
            ``on_reset``); after them it answers each call with a ``StopMessage``
            (``metadata["lyceum_stop"]`` ``max_turns``) without running. None: no bound
            beyond each turn's budget and the team's termination conditions.
        structured: Reply with ``StructuredMessage[LyceumContent]`` carrying the typed
            message instead of a ``TextMessage``.
        incoming: Maps an AgentChat message to the lyceum message the persona gets
            (default ``from_autogen``: text becomes a ``Question``).
    """

    def __init__(
        self,
        persona: Agent,
        *,
        description: str | None = None,
        runtime: Runtime | None = None,
        budget: Budget | None = None,
        seed: int = 0,
        max_turns: int | None = None,
        structured: bool = False,
        incoming: Incoming = from_autogen,
    ) -> None:
        spec = getattr(persona, "spec", None)
        profile = str(getattr(spec, "profile", "") or "")
        super().__init__(persona.name, description or profile or f"lyceum agent {persona.name}")
        self.persona = persona
        self.runtime = runtime or Runtime()
        self.budget = budget or Budget()
        if max_turns is not None and (isinstance(max_turns, bool) or max_turns < 1):
            raise UserError(f"max_turns must be a positive int or None, got {max_turns!r}")
        self.seed = seed
        self.max_turns = max_turns
        self.structured = structured
        self.incoming = incoming
        self._conversation: _Conversation | None = None

    @property
    def produced_message_types(self) -> Sequence[type[BaseChatMessage]]:
        reply: type[BaseChatMessage] = (
            StructuredMessage[LyceumContent] if self.structured else TextMessage
        )
        return (reply, StopMessage)

    @property
    def run_ids(self) -> list[str]:
        """The lyceum runs of the current conversation's turns, oldest first."""
        return list(self._conversation.run_ids) if self._conversation else []

    def _new_state(self) -> object:
        new_state = getattr(self.persona, "new_state", None)
        return new_state() if callable(new_state) else None

    def _start(self) -> _Conversation:
        if self._conversation is None:
            self._conversation = _Conversation(self._new_state())
        return self._conversation

    async def save_state(self) -> Mapping[str, Any]:
        """The conversation as JSON data (``PersonaChatAgentState``): its turns' run ids and
        what the persona remembers (history, item under discussion, the mind's state).

        Raises:
            UserError: The mind's state is not plain data (names the mind and the fix).
        """
        if self._conversation is None:
            return PersonaChatAgentState().model_dump()
        state, run_ids = self._conversation.state, self._conversation.run_ids
        return dump_conversation(self.persona, state, run_ids).model_dump()

    async def load_state(self, state: Mapping[str, Any]) -> None:
        """Resume a conversation ``save_state`` saved: the next turn is the one it would
        have taken (seed ``seed + turns``, same memory)."""
        saved = PersonaChatAgentState.model_validate(state)
        if not saved.started:
            self._conversation = None
            return
        restored = load_conversation(self.persona, self._new_state(), saved)
        self._conversation = _Conversation(restored, list(saved.run_ids))

    async def on_messages(
        self, messages: Sequence[BaseChatMessage], cancellation_token: CancellationToken
    ) -> Response:
        response: Response | None = None
        async for item in self.on_messages_stream(messages, cancellation_token):
            if isinstance(item, Response):
                response = item
        assert response is not None
        return response

    async def on_messages_stream(
        self, messages: Sequence[BaseChatMessage], cancellation_token: CancellationToken
    ) -> AsyncGenerator[BaseAgentEvent | BaseChatMessage | Response, None]:
        """Take the turn, then yield the persona's thoughts and plan (``ThoughtEvent``) and
        the ``Response``. They come when the turn's run ends: a persona's turn is one step
        of its run, whose messages are committed together."""
        taken = len(self._conversation.run_ids) if self._conversation else 0
        if self.max_turns is not None and taken >= self.max_turns:
            detail = f"{self.name} took its {self.max_turns} turn(s) of this conversation"
            yield Response(chat_message=_stop("max_turns", detail, self.name))
            return
        result = await self._take_turn(messages, cancellation_token)
        inner: list[BaseAgentEvent | BaseChatMessage] = []
        replies: list[Message] = []
        for message in result.messages[1:]:
            if isinstance(message, Error):
                raise PersonaTurnError(self.name, result.run_id, message.error_type, message.detail)
            if message.sender != self.name:
                continue
            if isinstance(message, OBSERVED):
                inner.append(observed(message, self.name))
            else:
                replies.append(message)
        for event in inner:
            yield event
        yield Response(chat_message=self._reply(replies, result), inner_messages=inner)

    def _reply(self, replies: list[Message], result: RunResult) -> BaseChatMessage:
        if replies:
            return to_autogen(replies[-1], self.name, structured=self.structured)
        if result.reason.startswith("max_"):  # the budget stopped the turn
            return _stop(result.reason, result.detail, self.name)
        # The persona chose to say nothing (a student reading an explanation).
        return TextMessage(content="", source=self.name, metadata={"lyceum_kind": "none"})

    async def _take_turn(
        self, messages: Sequence[BaseChatMessage], cancellation_token: CancellationToken
    ) -> RunResult:
        conversation = self._start()
        if not messages:
            messages = [TextMessage(content="", source="user")]
        heard = [(m.source, self.incoming(m)) for m in messages]
        if isinstance(conversation.state, PersonaState):
            for source, message in heard[:-1]:
                conversation.state.history.append(f"{source}: {message_text(message)}")
        first = heard[-1][1].model_copy(update={"recipients": (self.name,)})
        if isinstance(conversation.state, PersonaState):
            first = _about(first, conversation.state.item_id)
        graph = AgentGraph().add(_Turn(self.persona, conversation.state))
        seed = self.seed + len(conversation.run_ids)
        task = asyncio.ensure_future(self.runtime.run(graph, first, budget=self.budget, seed=seed))
        cancellation_token.link_future(task)
        result = await task
        conversation.run_ids.append(result.run_id)
        return result

    async def on_reset(self, cancellation_token: CancellationToken) -> None:
        """Forget the conversation: the next turn starts with a fresh persona state."""
        self._conversation = None

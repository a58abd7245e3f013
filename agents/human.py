"""``HumanAgent``: a real person (student, trainee, teacher) joins any graph.

Replies come from an async ``InputSource``: the terminal, the Streamlit UI (through a
``QueueInput``), or anything else with ``async ask(message) -> str``. A timeout policy says
what happens when the person does not answer in time: skip the turn, stop the run, or send a
default reply.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Sequence
from typing import Literal, Protocol

from agents.agent import RunContext
from protocols import Answer, Envelope, Message, Question, Stop, UserError

__all__ = ["HumanAgent", "InputSource", "QueueInput", "TerminalInput"]


class InputSource(Protocol):
    """Where a human's replies come from."""

    async def ask(self, message: Message) -> str:
        """Show ``message`` to the person and return what they type."""
        ...


class TerminalInput:
    """Ask on the terminal (stdin), without blocking the event loop."""

    def __init__(self, prompt: str = "> ") -> None:
        self.prompt = prompt

    async def ask(self, message: Message) -> str:
        text = getattr(message, "text", None) or message.content()
        sys.stdout.write(f"\n[{message.sender}] {text}\n")
        return await asyncio.to_thread(input, self.prompt)


class QueueInput:
    """Replies pushed by another task (e.g. a UI callback) with ``put``.

    The question being asked is available as ``waiting_on`` while the agent waits. ``put``
    may be called from another thread than the run's event loop (a UI's thread, while the
    run has a loop of its own): the reply is then handed to that loop thread-safely.
    """

    def __init__(self) -> None:
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.waiting_on: Message | None = None

    def put(self, text: str) -> None:
        """Hand the person's reply to the agent (from any thread)."""
        loop = self._loop
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        if loop is not None and loop is not here and not loop.is_closed():
            loop.call_soon_threadsafe(self._queue.put_nowait, text)
        else:
            self._queue.put_nowait(text)

    async def ask(self, message: Message) -> str:
        self._loop = asyncio.get_running_loop()
        self.waiting_on = message
        try:
            return await self._queue.get()
        finally:
            self.waiting_on = None


TimeoutPolicy = Literal["skip", "stop", "default"]


class HumanAgent:
    """An agent whose replies are typed by a person.

    Args:
        name: The agent's name in the graph.
        source: Where replies come from.
        timeout: Seconds to wait for a reply; None waits for ever (the run's wall-time
            budget still applies).
        on_timeout: ``"skip"`` sends nothing, ``"stop"`` stops the run, ``"default"``
            sends ``default_reply``.
        default_reply: The text sent on timeout with ``on_timeout="default"``.
        reply: Turns the person's text (and the message it answers) into a message; by
            default an ``Answer`` routed along the graph's edges.
        questions_only: Ask the person only about ``Question`` messages, and send the
            answer to whoever asked; everything else is heard in silence (a student in a
            class hears explanations and remarks without replying to each).
    """

    def __init__(
        self,
        name: str,
        source: InputSource,
        *,
        timeout: float | None = 300.0,
        on_timeout: TimeoutPolicy = "skip",
        default_reply: str = "",
        reply: Callable[[str, Message], Envelope] | None = None,
        questions_only: bool = False,
    ) -> None:
        if on_timeout not in ("skip", "stop", "default"):
            raise UserError(f"on_timeout must be 'skip', 'stop' or 'default', got {on_timeout!r}")
        if timeout is not None and timeout <= 0:
            raise UserError(f"timeout must be positive or None, got {timeout!r}")
        self.name = name
        self.source = source
        self.timeout = timeout
        self.on_timeout = on_timeout
        self.default_reply = default_reply
        self._reply = reply or (
            lambda text, msg: Answer(text=text, item_id=getattr(msg, "item_id", None))
        )
        self.emits = (Answer, Stop) if reply is None else None
        self.questions_only = questions_only

    async def handle(self, message: Message, ctx: RunContext) -> Sequence[Envelope]:
        if self.questions_only and not isinstance(message, Question):
            return []
        try:
            text = await asyncio.wait_for(self.source.ask(message), self.timeout)
        except TimeoutError:
            if self.on_timeout == "stop":
                return [
                    Stop(
                        reason="completed",
                        detail=f"{self.name} did not answer within {self.timeout:g}s",
                    )
                ]
            if self.on_timeout == "skip":
                return []
            text = self.default_reply
        reply = self._reply(text.strip(), message)
        if self.questions_only and not reply.recipients:
            reply = reply.model_copy(update={"recipients": (message.sender,)})
        return [reply]

"""Hostile input to the AutoGen adapters: malformed AgentChat messages, a huge message, and
AutoGen clients that answer function calls or raise ``CancelledError`` / ``TimeoutError``.
Each ends in a typed lyceum error (``UserError``, ``PersonaTurnError`` naming the model
error) or in AgentChat's own validation error, never in a hang or a bare traceback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

pytest.importorskip("autogen_agentchat", reason="pip install 'lyceum[autogen]'")

from autogen_agentchat.conditions import MaxMessageTermination
from autogen_agentchat.messages import StructuredMessage, TextMessage
from autogen_agentchat.teams import RoundRobinGroupChat
from autogen_core import CancellationToken, FunctionCall
from autogen_core.models import CreateResult, RequestUsage
from autogen_ext.models.replay import ReplayChatCompletionClient

from agents import Runtime
from agents.autogen import (
    AutoGenModelClient,
    LyceumContent,
    PersonaChatAgent,
    PersonaTurnError,
    from_autogen,
)
from agents.models import ChatMessage, ModelRequest
from agents.store import SqlRunStore
from personas import LLMMind, Persona, builtin_persona
from protocols import Answer, ModelHTTPError, UserError
from tests.test_autogen_client import STUDENT_REPLIES

TIMEOUT = 20  # seconds: a hang fails the test instead of stalling the suite


class Raising(ReplayChatCompletionClient):
    """An AutoGen client whose every call raises ``error``."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(["unused"])
        self.error = error

    async def create(self, *args: Any, **kwargs: Any) -> CreateResult:
        raise self.error

    async def create_stream(  # type: ignore[override]
        self, *args: Any, **kwargs: Any
    ) -> AsyncGenerator[str | CreateResult, None]:
        raise self.error
        yield ""  # pragma: no cover - makes this an async generator


def student(client: ReplayChatCompletionClient, **options: Any) -> PersonaChatAgent:
    model = AutoGenModelClient(client, model="m")
    return PersonaChatAgent(
        Persona(builtin_persona("student"), LLMMind(model, max_retries=0)), **options
    )


async def turn(agent: PersonaChatAgent, *messages: TextMessage | StructuredMessage[Any]) -> Any:
    return await asyncio.wait_for(agent.on_messages(messages, CancellationToken()), TIMEOUT)


def test_a_structured_message_whose_content_fails_validation_is_refused_by_agentchat() -> None:
    with pytest.raises(ValidationError, match=r"content\.message"):
        StructuredMessage[LyceumContent].model_validate(
            {
                "content": {"kind": "answer", "text": "1/2", "message": {"kind": "bogus"}},
                "source": "s",
            }
        )
    with pytest.raises(ValidationError, match="kind 'hint' is not the kind of its message"):
        LyceumContent(kind="hint", text="1/2", message=Answer(text="1/2"))


async def test_a_structured_message_built_without_validation_is_a_user_error() -> None:
    """``model_construct`` skips pydantic: the adapter validates the carried message again
    and refuses it before any lyceum run starts."""
    content = LyceumContent.model_construct(kind="answer", text="1/2", message={"kind": "answer"})
    forged = StructuredMessage[LyceumContent].model_construct(
        content=content, source="peer", metadata={}, format_string=None
    )
    with pytest.raises(UserError, match="peer's StructuredMessage\\[LyceumContent\\] carries no"):
        from_autogen(forged)
    agent = student(ReplayChatCompletionClient(STUDENT_REPLIES))
    with pytest.raises(UserError, match="carries no valid lyceum message"):
        await turn(agent, forged)
    assert agent.run_ids == []
    # A carried dict that is a valid message is taken as that typed message.
    carried = LyceumContent.model_construct(
        kind="answer", text="1/2", message={"kind": "answer", "text": "1/2"}
    )
    lenient = StructuredMessage[LyceumContent].model_construct(
        content=carried, source="peer", metadata={}, format_string=None
    )
    typed = from_autogen(lenient)
    assert isinstance(typed, Answer) and (typed.text, typed.recipients) == ("1/2", ())


def test_metadata_item_id_of_a_wrong_type_is_refused_by_agentchat() -> None:
    with pytest.raises(ValidationError, match=r"metadata\.item_id"):
        TextMessage(content="1/2", source="user", metadata={"item_id": 5})  # type: ignore[dict-item]


async def test_a_huge_message_reaches_the_model_whole_and_the_turn_completes(
    tmp_path: Path,
) -> None:
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    huge = "What is 3/4 - 1/2? " * 50_000  # ~1 MB
    agent = student(ReplayChatCompletionClient(STUDENT_REPLIES), runtime=Runtime(db))
    response = await turn(agent, TextMessage(content=huge, source="user"))
    assert (type(response.chat_message).__name__, response.chat_message.content) == (
        "TextMessage",
        "1/4  (confidence 0.90)",
    )
    [run_id] = agent.run_ids
    with SqlRunStore(db) as store:
        calls = store.model_calls(run_id)
    think, plan, reply = (c.request["messages"][1]["content"] for c in calls)
    # The think and reply phases quote the message whole; the plan phase works from the
    # think phase's reading of it.
    assert (
        f"user just said: {huge}\n" in think and f"user just said: {huge}" in reply
    )
    assert huge.strip() not in plan


FUNCTION_CALLS = CreateResult(
    finish_reason="function_calls",
    content=[FunctionCall(id="1", arguments="{}", name="calculator")],
    usage=RequestUsage(prompt_tokens=1, completion_tokens=1),
    cached=False,
)


@pytest.mark.parametrize(
    ("client", "error_type", "detail"),
    [
        (ReplayChatCompletionClient([FUNCTION_CALLS]), "UnexpectedModelOutput", "function calls"),
        (Raising(asyncio.CancelledError()), "ModelHTTPError", "failed: CancelledError."),
        (Raising(TimeoutError("no reply in 30 s")), "ModelHTTPError", "TimeoutError: no reply"),
    ],
    ids=["function-calls", "cancelled-error", "timeout"],
)
async def test_a_failing_autogen_client_fails_the_turn_typed(
    client: ReplayChatCompletionClient, error_type: str, detail: str
) -> None:
    """Alone, the turn raises ``PersonaTurnError``; in a team, AgentChat 0.7 re-raises it
    from ``run`` as a ``RuntimeError`` that starts with the typed error's name."""
    agent = student(client)
    with pytest.raises(PersonaTurnError) as failed:
        await turn(agent, TextMessage(content="3/4 - 1/2?", source="user"))
    assert failed.value.error_type == error_type and detail in failed.value.detail
    assert failed.value.run_id == agent.run_ids[0]
    client.reset()
    team = RoundRobinGroupChat([student(client)], termination_condition=MaxMessageTermination(2))
    with pytest.raises(
        RuntimeError, match=f"^PersonaTurnError: student's turn failed with {error_type}"
    ):
        await asyncio.wait_for(team.run(task="3/4 - 1/2?"), TIMEOUT)


REQUEST = ModelRequest(messages=(ChatMessage(role="user", content="3/4 - 1/2?"),))


async def test_a_client_s_own_cancelled_error_is_a_model_error_but_a_real_cancel_propagates() -> (
    None
):
    client = AutoGenModelClient(Raising(asyncio.CancelledError()))
    with pytest.raises(ModelHTTPError, match="failed: CancelledError"):
        await client.complete(REQUEST)
    with pytest.raises(ModelHTTPError, match="failed: CancelledError"):
        async for _ in client.stream(REQUEST):
            pass

    class Slow(ReplayChatCompletionClient):
        async def create(self, *args: Any, **kwargs: Any) -> CreateResult:
            await asyncio.sleep(60)
            raise AssertionError("not reached")

    call = asyncio.ensure_future(AutoGenModelClient(Slow([])).complete(REQUEST))
    await asyncio.sleep(0.01)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call

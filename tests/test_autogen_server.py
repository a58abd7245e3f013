"""Both AutoGen adapters against a real OpenAI-compatible server: ``transformers serve``
(``tests/servers.py``) on the tiny random chat model (``tests/tiny_models.py``), reached
over HTTP by AutoGen's own ``OpenAIChatCompletionClient`` and by lyceum's
``OpenAIChatClient``. The model is random: its greedy replies are a word or two of its
corpus, never the JSON a persona's phases ask for, so each persona turn ends in the typed
``UnexpectedModelOutput`` asserted here, after its model call went over HTTP and was
recorded; free text (a plain ``ctx.complete``, an AutoGen ``AssistantAgent``) is accepted
and compared with what the server answers lyceum's own client."""

from __future__ import annotations

import asyncio
import importlib.util
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("autogen_agentchat", reason="pip install 'lyceum[autogen]'")

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.conditions import MaxMessageTermination
from autogen_agentchat.teams import RoundRobinGroupChat
from autogen_core.models import ModelFamily, ModelInfo

from agents import AgentGraph, Budget, FunctionAgent, Runtime
from agents.agent import RunContext
from agents.autogen import AutoGenModelClient, PersonaChatAgent
from agents.models import ChatMessage, ModelRequest, ModelResponse, OpenAIChatClient, TextDelta
from agents.store import SqlRunStore
from personas import LLMMind, Persona, builtin_persona
from protocols import Answer, Message, ModelHTTPError, Question

from .conftest import require
from .servers import TransformersServe, serve_available
from .tiny_models import CORPUS, tiny_chat_model

pytestmark = [pytest.mark.allow_model_requests, pytest.mark.slow]  # a server of its own

INFO = ModelInfo(
    vision=False,
    function_calling=False,
    json_output=False,
    family=ModelFamily.UNKNOWN,
    structured_output=False,
)
"""The tiny model is unknown to AutoGen, so its capabilities are given: text only."""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TransformersServe]:
    reason = serve_available()
    require(reason is None, reason or "")
    require(
        all(importlib.util.find_spec(m) for m in ("openai", "tiktoken", "aiofiles")),
        "AutoGen's OpenAI client needs autogen-ext[openai] (pip install 'lyceum[autogen]')",
    )
    folder = tiny_chat_model(tmp_path_factory.mktemp("autogen-serve") / "tiny-chat")
    with TransformersServe(folder) as served:
        yield served


@pytest.fixture
async def autogen_openai(server: TransformersServe) -> AsyncIterator[Any]:
    """AutoGen's own OpenAI client, pointed at the server."""
    from autogen_ext.models.openai import OpenAIChatCompletionClient

    client = OpenAIChatCompletionClient(
        model=server.model, base_url=server.base_url, api_key="unused", model_info=INFO
    )
    yield client
    await client.close()


@pytest.fixture
async def lyceum_openai(server: TransformersServe) -> AsyncIterator[OpenAIChatClient]:
    client = OpenAIChatClient(server.base_url, server.model, dialect="prompt")
    yield client
    await client.aclose()


QUESTION = "the student adds the fractions"
REQUEST = ModelRequest(
    messages=(ChatMessage(role="user", content=QUESTION),), max_tokens=8, temperature=0.0, seed=3
)


def echo_model(client: Any) -> AgentGraph:
    """A lyceum agent that asks ``client`` the question as free text and answers with the
    reply: no schema, so any text the random model writes is accepted."""

    async def ask(message: Message, ctx: RunContext) -> Answer:
        response = await ctx.complete(client, REQUEST)
        return Answer(to=message.sender, text=response.text)

    return AgentGraph().add(FunctionAgent("asker", ask, emits=[Answer]))


async def test_autogen_s_openai_client_reaches_the_server_and_the_call_is_recorded(
    server: TransformersServe, autogen_openai: Any, lyceum_openai: OpenAIChatClient, tmp_path: Path
) -> None:
    """Over HTTP, AutoGen's request (temperature, max_tokens forwarded) is answered by
    transformers serve; the reply, its usage as the server counted it, and the model call
    are recorded in the run store; the greedy reply is the one lyceum's own client gets."""
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    runtime = Runtime(db)
    adapter = AutoGenModelClient(autogen_openai, model="tiny")
    question = Question(to="asker", text=QUESTION)
    via_autogen = await runtime.run(echo_model(adapter), question, budget=Budget(model_calls=1))
    via_lyceum = await runtime.run(
        echo_model(lyceum_openai), question, budget=Budget(model_calls=1)
    )
    assert via_autogen.transcript() == via_lyceum.transcript()
    assert [(m["sender"], m["kind"]) for m in via_autogen.transcript()] == [
        ("user", "question"),
        ("asker", "answer"),
        ("runtime", "stop"),
    ]
    reply = via_autogen.transcript()[1]["text"]
    assert reply and reply in " ".join(CORPUS)  # words of the model's vocabulary
    with SqlRunStore(db) as store:
        [call] = store.model_calls(via_autogen.run_id)
        [own] = store.model_calls(via_lyceum.run_id)
    assert (call.agent, call.client, call.model, call.status, call.attempts) == (
        "asker",
        "AutoGenModelClient(OpenAIChatCompletionClient: tiny)",
        "tiny",
        "ok",
        1,
    )
    assert call.request == own.request  # the same lyceum request, sent by either client
    assert call.response is not None and own.response is not None
    assert (call.response["text"], call.response["finish_reason"]) == (reply, "stop")
    # Usage is the server's count (not estimated), the same for both clients.
    assert call.response["usage"] == own.response["usage"]
    assert not call.usage_estimated and call.prompt_tokens > 0 and call.completion_tokens > 0
    assert "Ignoring unsupported fields" not in server.log()  # it took every field AutoGen sent


async def test_a_persona_on_autogen_s_openai_client_fails_typed_on_the_random_model(
    server: TransformersServe, autogen_openai: Any, tmp_path: Path
) -> None:
    """A persona's phases ask for JSON in the prompt; the random model answers a word, so
    the turn is re-asked once and then fails with ``UnexpectedModelOutput``: the run ends
    ``error`` with the typed ``Error`` in its transcript, and both calls (first and re-ask)
    are recorded with the server's usage."""
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    adapter = AutoGenModelClient(autogen_openai, model="tiny")
    persona = Persona(builtin_persona("student"), LLMMind(adapter, max_retries=1))
    result = await Runtime(db).run(
        AgentGraph().add(persona),
        Question(to="student", text=QUESTION),
        budget=Budget(model_calls=4),
    )
    question, error, stop = result.transcript()
    assert (question["sender"], question["kind"], question["text"]) == (
        "user",
        "question",
        QUESTION,
    )
    assert (error["sender"], error["kind"], error["error_type"], error["recoverable"]) == (
        "student",
        "error",
        "UnexpectedModelOutput",
        False,
    )
    assert error["detail"].startswith(
        "the model's reply did not validate as ThoughtVars after 2 attempts"
    )
    assert (stop["kind"], stop["reason"]) == ("stop", "error")
    with SqlRunStore(db) as store:
        run = store.get_run(result.run_id)
        calls = store.model_calls(result.run_id)
    assert (run.status, run.usage["model_calls"]) == ("error", 2)
    assert [(c.agent, c.status, c.request["structured_attempt"]) for c in calls] == [
        ("student", "ok", 1),
        ("student", "ok", 2),
    ]
    for call in calls:
        assert call.response is not None and call.response["text"] in " ".join(CORPUS)
        assert not call.usage_estimated and call.prompt_tokens > 100
    assert f"raw reply: {calls[-1].response['text']!r}" in error["detail"]  # type: ignore[index]
    # The re-ask carries the first reply and the validation errors back to the model.
    first_reply = calls[0].response["text"]  # type: ignore[index]
    assert calls[1].request["messages"][-2] == {"role": "assistant", "content": first_reply}
    assert (
        calls[1]
        .request["messages"][-1]["content"]
        .startswith("Your reply did not validate against the required JSON schema")
    )


def rows(messages: list[Any]) -> list[tuple[str, str]]:
    return [(type(m).__name__, m.source) for m in messages]


async def test_a_round_robin_of_a_lyceum_persona_and_an_autogen_assistant_on_the_server(
    server: TransformersServe, autogen_openai: Any, lyceum_openai: OpenAIChatClient, tmp_path: Path
) -> None:
    """AutoGen's ``AssistantAgent`` (AutoGen's OpenAI client) speaks first: its free text
    is accepted. The lyceum student persona (lyceum's ``OpenAIChatClient``, ``prompt``
    dialect) answers next from the same server, cannot write JSON, and its turn raises
    ``PersonaTurnError``, which AgentChat 0.7 re-raises from ``run_stream`` as a
    ``RuntimeError`` carrying the typed error's name and message; the turn's lyceum run
    is stored with its model call."""
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    tutor = AssistantAgent("tutor", model_client=autogen_openai)
    student = PersonaChatAgent(
        Persona(builtin_persona("student"), LLMMind(lyceum_openai, max_retries=0)),
        runtime=Runtime(db),
        budget=Budget(model_calls=3),
    )
    team = RoundRobinGroupChat([tutor, student], termination_condition=MaxMessageTermination(3))
    seen: list[Any] = []
    with pytest.raises(RuntimeError) as failed:
        async for item in team.run_stream(task=QUESTION):
            seen.append(item)
    assert str(failed.value).startswith(
        "PersonaTurnError: student's turn failed with UnexpectedModelOutput: the model's "
        "reply did not validate as ThoughtVars after 1 attempts"
    )
    assert rows(seen) == [("TextMessage", "user"), ("TextMessage", "tutor")]
    said = seen[1]
    assert said.content and said.content in " ".join(CORPUS)
    assert said.models_usage is not None and said.models_usage.completion_tokens > 0
    [run_id] = student.run_ids
    assert run_id in str(failed.value)
    with SqlRunStore(db) as store:
        run = store.get_run(run_id)
        [call] = store.model_calls(run_id)
        messages = store.messages(run_id)
    assert run.status == "error"
    assert call.client.startswith("OpenAIChatClient(") and call.status == "ok"
    # The persona heard the task and the tutor's text (the tutor's as its question).
    assert [(m.kind, m.sender) for m in messages] == [
        ("question", "user"),
        ("error", "student"),
        ("stop", "runtime"),
    ]
    assert f"user: {QUESTION}" in call.request["messages"][1]["content"]


async def test_what_the_server_does_with_autogen_s_streams_and_stop_strings(
    server: TransformersServe,
) -> None:
    """docs/autogen.md: a stream's text arrives in chunks and its final chunk carries the
    server's usage (AutoGen says ``unknown`` for its finish reason); ``stop`` strings are
    answered 500 on the tiny model's word-level vocabulary, a ``ModelHTTPError``."""
    from autogen_ext.models.openai import OpenAIChatCompletionClient

    autogen = OpenAIChatCompletionClient(
        model=server.model,
        base_url=server.base_url,
        api_key="unused",
        model_info=INFO,
        max_retries=0,  # the openai SDK would retry the 500 twice
    )
    adapter = AutoGenModelClient(autogen, model="tiny")
    try:
        items = [item async for item in adapter.stream(REQUEST)]
        *deltas, final = items
        assert deltas and all(isinstance(d, TextDelta) for d in deltas)
        assert isinstance(final, ModelResponse)
        assert final.text == "".join(d.text for d in deltas)
        assert final.text in " ".join(CORPUS) and final.finish_reason == "unknown"
        assert not final.usage.estimated and final.usage.completion_tokens > 0
        with pytest.raises(ModelHTTPError) as failed:
            await adapter.complete(REQUEST.model_copy(update={"stop": ("\n\n",)}))
        assert failed.value.status == 500
    finally:
        await autogen.close()
    # The server logs the 500 first and the traceback (StopStringCriteria's) a moment later.
    deadline = time.monotonic() + 10
    while "ValueError: substring not found" not in server.log():
        assert time.monotonic() < deadline, server.log()[-2000:]
        await asyncio.sleep(0.1)

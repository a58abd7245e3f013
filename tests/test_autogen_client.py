"""``AutoGenModelClient``: any AutoGen ``ChatCompletionClient`` as a lyceum model client,
tested with AutoGen's own ``ReplayChatCompletionClient`` (offline)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

pytest.importorskip("autogen_agentchat", reason="pip install 'lyceum[autogen]'")

from autogen_core import FunctionCall
from autogen_core.models import (
    AssistantMessage,
    CreateResult,
    ModelFamily,
    ModelInfo,
    RequestUsage,
    SystemMessage,
    UserMessage,
)
from autogen_ext.models.replay import ReplayChatCompletionClient

from agents import AgentGraph, Budget, FunctionAgent, Runtime
from agents.autogen import AutoGenModelClient
from agents.models import ChatMessage, ModelRequest, OpenAIChatClient, TextDelta
from agents.models.fake_server import FakeOpenAIServer, Scripted
from agents.store import SqlRunStore
from personas import LLMMind, Persona, builtin_persona
from protocols import (
    Answer,
    Message,
    ModelHTTPError,
    ModelRequestsBlocked,
    Question,
    UnexpectedModelOutput,
)

ROOT = Path(__file__).resolve().parents[1]


def info(*, json_output: bool = False, structured_output: bool = False) -> ModelInfo:
    return ModelInfo(
        vision=False,
        function_calling=False,
        json_output=json_output,
        family=ModelFamily.UNKNOWN,
        structured_output=structured_output,
    )


class Fraction(BaseModel):
    numerator: int
    denominator: int


REQUEST = ModelRequest(
    messages=(
        ChatMessage(role="system", content="You are terse."),
        ChatMessage(role="user", content="What is 3/4 - 1/2?"),
        ChatMessage(role="assistant", content="1/4"),
        ChatMessage(role="user", content="As a fraction object?"),
    ),
    max_tokens=32,
    temperature=0.0,
    seed=3,
    stop=("\n\n",),
)


async def test_chat_turns_usage_and_options_map_to_autogen() -> None:
    replay = ReplayChatCompletionClient(["one quarter"])
    client = AutoGenModelClient(replay, model="replay-model")
    response = await client.complete(REQUEST)
    assert (response.text, response.model, response.finish_reason) == (
        "one quarter",
        "replay-model",
        "stop",
    )
    # ReplayChatCompletionClient counts whitespace tokens: 3 + 5 + 1 + 4 in, 2 out.
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (13, 2)
    assert not response.usage.estimated and response.latency_ms >= 0
    call = replay.create_calls[0]
    assert call["messages"] == [
        SystemMessage(content="You are terse."),
        UserMessage(content="What is 3/4 - 1/2?", source="user"),
        AssistantMessage(content="1/4", source="assistant"),
        UserMessage(content="As a fraction object?", source="user"),
    ]
    assert call["json_output"] is None
    assert call["extra_create_args"] == {
        "temperature": 0.0,
        "max_tokens": 32,
        "seed": 3,
        "stop": ["\n\n"],
    }
    assert client.describe() == "AutoGenModelClient(ReplayChatCompletionClient: replay-model)"


async def test_options_are_not_forwarded_when_switched_off() -> None:
    replay = ReplayChatCompletionClient(["x"])
    await AutoGenModelClient(replay, forward_options=False).complete(REQUEST)
    assert replay.create_calls[0]["extra_create_args"] == {}


async def test_zero_usage_is_estimated() -> None:
    result = CreateResult(
        finish_reason="stop", content="abcdefgh", usage=RequestUsage(0, 0), cached=False
    )
    replay = ReplayChatCompletionClient([result])
    response = await AutoGenModelClient(replay).complete(ModelRequest.of("abcd"))
    # ReplayChatCompletionClient reports the prompt's count but keeps the completion's 0
    # from the CreateResult; a count of 0 for a text is not a count, so lyceum estimates.
    assert response.usage.model_dump() == {
        "prompt_tokens": 1,
        "completion_tokens": 2,
        "estimated": True,
    }


def structured_request() -> ModelRequest:
    schema = Fraction.model_json_schema()
    return ModelRequest.of("1/4 as an object", system="Be exact.").model_copy(
        update={"response_schema": schema, "output_type": Fraction}
    )


async def test_structured_output_uses_the_output_type_when_the_client_supports_it() -> None:
    replay = ReplayChatCompletionClient(
        ['{"numerator": 1, "denominator": 4}'], model_info=info(structured_output=True)
    )
    await AutoGenModelClient(replay).complete(structured_request())
    call = replay.create_calls[0]
    assert call["json_output"] is Fraction
    assert call["messages"][0] == SystemMessage(content="Be exact.")  # schema not in prompt


@pytest.mark.parametrize(("json_mode", "expected"), [(True, True), (False, None)])
async def test_structured_output_goes_into_the_prompt_otherwise(
    json_mode: bool, expected: bool | None
) -> None:
    replay = ReplayChatCompletionClient(["{}"], model_info=info(json_output=json_mode))
    await AutoGenModelClient(replay).complete(structured_request())
    call = replay.create_calls[0]
    assert call["json_output"] is expected
    system = call["messages"][0]
    assert isinstance(system, SystemMessage) and system.content.startswith("Be exact.\n\n")
    # lyceum's prompt dialect wrote the schema (agents/models/prompts/schema_instruction.jinja)
    assert json.dumps(Fraction.model_json_schema(), ensure_ascii=False) in system.content


async def test_streaming_uses_create_stream() -> None:
    client = AutoGenModelClient(ReplayChatCompletionClient(["one quarter exactly"]))
    pieces = [p async for p in client.stream(ModelRequest.of("3/4 - 1/2?"))]
    assert [p.text for p in pieces if isinstance(p, TextDelta)] == ["one ", "quarter ", "exactly"]
    final = pieces[-1]
    assert not isinstance(final, TextDelta)
    assert (final.text, final.usage.prompt_tokens, final.usage.completion_tokens) == (
        "one quarter exactly",
        3,
        3,
    )


class Tracked(ReplayChatCompletionClient):
    """AutoGen's double whose stream notes when it is closed (an HTTP stream's release)."""

    def __init__(self, chat_completions: list[str]) -> None:
        super().__init__(chat_completions)
        self.closed = False

    async def create_stream(  # type: ignore[override]
        self, *args: Any, **kwargs: Any
    ) -> AsyncGenerator[str | CreateResult, None]:
        try:
            async for chunk in super().create_stream(*args, **kwargs):
                yield chunk
        finally:
            self.closed = True


async def test_a_stream_read_in_part_closes_the_autogen_stream_at_once() -> None:
    tracked = Tracked(["one quarter exactly"])
    stream = AutoGenModelClient(tracked).stream(ModelRequest.of("3/4 - 1/2?"))
    first = await anext(stream)
    assert isinstance(first, TextDelta) and first.text == "one "
    await stream.aclose()
    assert tracked.closed  # not left to the garbage collector and the event loop


async def test_a_stream_through_the_run_is_budgeted_and_recorded(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    client = AutoGenModelClient(ReplayChatCompletionClient(["one quarter exactly"]), model="m")

    async def talk(message: Message, ctx: Any) -> Answer:
        pieces = [p async for p in ctx.stream(client, ModelRequest.of(message.text))]
        return Answer(text="|".join(pieces))

    deltas: list[str] = []
    result = await Runtime(db).run(
        AgentGraph().add(FunctionAgent("talker", talk, emits=[Answer])),
        Question(to="talker", text="3/4 - 1/2?"),
        budget=Budget(turns=1, tokens=100),
        observer=lambda e: deltas.append(e.text) if e.kind == "token_delta" else None,
    )
    assert result.transcript()[1]["text"] == "one |quarter |exactly"
    assert deltas == ["one ", "quarter ", "exactly"]
    assert result.usage["tokens"] == 6
    with SqlRunStore(db) as store:
        [call] = store.model_calls(result.run_id)
    assert (call.response or {})["text"] == "one quarter exactly"
    assert (call.prompt_tokens, call.completion_tokens) == (3, 3)


class StatusError(Exception):
    """Like ``openai.APIStatusError``: carries the HTTP status as ``status_code``."""

    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


class Failing(ReplayChatCompletionClient):
    """An AutoGen client whose backend fails (a subclass of AutoGen's own double)."""

    def __init__(self, error: Exception) -> None:
        super().__init__([])
        self.error = error

    async def create(self, *args: Any, **kwargs: Any) -> CreateResult:
        raise self.error


@pytest.mark.parametrize(
    ("error", "status", "body"),
    [
        (StatusError("rate limited", 429), 429, "StatusError: rate limited"),
        (ConnectionError("refused"), None, "ConnectionError: refused"),
    ],
)
async def test_client_exceptions_become_model_http_errors(
    error: Exception, status: int | None, body: str
) -> None:
    client = AutoGenModelClient(Failing(error))
    with pytest.raises(ModelHTTPError) as caught:
        await client.complete(ModelRequest.of("hi"))
    assert (caught.value.status, caught.value.body) == (status, body)
    assert str(caught.value).startswith(
        f"AutoGenModelClient(Failing: Failing) failed: {body}. Check the AutoGen client"
    )


async def test_an_exhausted_replay_is_a_typed_error() -> None:
    with pytest.raises(ModelHTTPError, match="No more mock responses available"):
        await AutoGenModelClient(ReplayChatCompletionClient([])).complete(ModelRequest.of("hi"))


async def test_function_calls_are_unexpected_output() -> None:
    calls = CreateResult(
        finish_reason="function_calls",
        content=[FunctionCall(id="1", name="add", arguments="{}")],
        usage=RequestUsage(1, 1),
        cached=False,
    )
    client = AutoGenModelClient(ReplayChatCompletionClient([calls]))
    with pytest.raises(UnexpectedModelOutput, match="lyceum sent no tools"):
        await client.complete(ModelRequest.of("hi"))


def asker(client: Any) -> FunctionAgent:
    """An agent that asks ``client`` for a ``Fraction`` through its run context."""

    async def ask(message: Message, ctx: Any) -> Answer:
        value = await ctx.complete(client, ModelRequest.of("1/4?"), output=Fraction, max_retries=1)
        return Answer(text=f"{value.numerator}/{value.denominator}")

    return FunctionAgent("asker", ask, emits=[Answer])


async def test_bad_structured_output_is_re_asked_then_unexpected_output() -> None:
    replay = ReplayChatCompletionClient(["a quarter", '{"numerator": "one"}'])
    result = await Runtime().run(
        AgentGraph().add(asker(AutoGenModelClient(replay))),
        Question(to="asker", text="go"),
        budget=Budget(turns=2),
    )
    # The re-ask fed the first reply and the validation error back as chat turns.
    second = replay.create_calls[1]["messages"]
    assert [type(m).__name__ for m in second] == [
        "SystemMessage",
        "UserMessage",
        "AssistantMessage",
        "UserMessage",
    ]
    assert second[2].content == "a quarter"
    assert second[3].content.startswith("Your reply did not validate")
    assert [(m["kind"], m["sender"]) for m in result.transcript()] == [
        ("question", "user"),
        ("error", "asker"),
        ("stop", "runtime"),
    ]
    error = result.transcript()[1]
    assert error["error_type"] == "UnexpectedModelOutput"
    assert error["detail"].startswith(
        "the model's reply did not validate as Fraction after 2 attempts"
    )
    assert result.usage["model_calls"] == 2


STUDENT_REPLIES = [
    json.dumps(
        {
            "knowledge": "asked to subtract fractions",
            "misconception": None,
            "emotion": "calm",
            "guideline": "answer with a common denominator",
        }
    ),
    json.dumps({"calls": [], "rationale": "no tool needed"}),
    json.dumps({"kind": "answer", "text": "1/4", "confidence": 0.9}),
]


def llm_student(client: Any) -> AgentGraph:
    return AgentGraph().add(Persona(builtin_persona("student"), LLMMind(client)))


def comparable(record: Any) -> dict[str, Any]:
    """A model-call record less what differs by client: ids, times, the client's name,
    token counts (each counts its own way) and the response's usage and latency."""
    data = record.model_dump(mode="json") if hasattr(record, "model_dump") else vars(record)
    response = dict(data["response"])
    for key in ("usage", "latency_ms"):
        response.pop(key)
    kept = ("seq", "agent", "model", "request_hash", "request", "status", "error", "attempts")
    return {**{k: data[k] for k in kept}, "response": response}


@pytest.mark.allow_model_requests  # the loopback server this test starts
async def test_runs_record_model_calls_exactly_as_with_the_openai_client(tmp_path: Path) -> None:
    """The one model path: the same persona on AutoGen's client and on lyceum's own
    OpenAI-compatible client (to a loopback server with the same replies) records the same
    model calls and the same transcript; the AutoGen run replays identically."""
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    question = Question(to="student", text="What is 3/4 - 1/2?")
    budget = Budget(turns=2, model_calls=5)
    runtime = Runtime(db)
    via_autogen = await runtime.run(
        llm_student(AutoGenModelClient(ReplayChatCompletionClient(STUDENT_REPLIES), model="m")),
        question,
        budget=budget,
    )
    with FakeOpenAIServer() as server:
        server.enqueue(*(Scripted(text=t) for t in STUDENT_REPLIES))
        openai = OpenAIChatClient(server.base_url, "m", dialect="json_schema")
        try:
            via_openai = await runtime.run(llm_student(openai), question, budget=budget)
        finally:
            await openai.aclose()
    assert via_autogen.transcript() == via_openai.transcript()
    assert via_autogen.transcript()[-2]["kind"] == "answer"
    with SqlRunStore(db) as store:
        autogen_calls = store.model_calls(via_autogen.run_id)
        openai_calls = store.model_calls(via_openai.run_id)
    assert len(autogen_calls) == 3
    assert [comparable(c) for c in autogen_calls] == [comparable(c) for c in openai_calls]
    assert {c.client for c in autogen_calls} == {
        "AutoGenModelClient(ReplayChatCompletionClient: m)"
    }
    replayed = await runtime.replay(
        via_autogen.run_id,
        llm_student(AutoGenModelClient(ReplayChatCompletionClient([]), model="m")),
    )
    assert replayed.identical


async def test_a_client_that_is_not_offline_is_blocked_in_tests_like_lyceum_s_own() -> None:
    """Only AutoGen's in-process double counts as offline by default; any other client
    (or one declared ``offline=False``) may reach a real model, which the test suite
    forbids (``LYCEUM_BLOCK_MODEL_REQUESTS=1``)."""
    client = AutoGenModelClient(ReplayChatCompletionClient(["hi"]), offline=False)
    with pytest.raises(ModelRequestsBlocked, match="AutoGenModelClient tried to reach"):
        await client.complete(ModelRequest.of("hi"))
    with pytest.raises(ModelRequestsBlocked):
        [p async for p in client.stream(ModelRequest.of("hi"))]


@pytest.mark.parametrize(
    "missing", [("autogen_core", "autogen_agentchat"), ("autogen_ext",)], ids=["core", "ext"]
)
def test_without_autogen_the_import_error_names_the_extra(missing: tuple[str, ...]) -> None:
    code = (
        "import sys\n"
        + "".join(f"sys.modules[{name!r}] = None\n" for name in missing)  # as if not installed
        + "try:\n"
        "    import agents.autogen\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert "pip install 'lyceum[autogen]'" in out.stdout
    assert "not the PyPI package named 'autogen', which is AG2" in out.stdout

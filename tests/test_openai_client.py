"""OpenAIChatClient against a real loopback HTTP server, through the runtime and the store."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import httpx
import pytest
from pydantic import BaseModel

from agents import AgentGraph, Budget, FunctionAgent, RunContext, Runtime, SqlRunStore
from agents.models import CachedModel, ModelRequest, OpenAIChatClient
from agents.models.fake_server import FakeOpenAIServer, Scripted
from protocols import (
    Answer,
    Envelope,
    Error,
    Message,
    ModelHTTPError,
    ModelRequestsBlocked,
    Question,
    Stop,
    UserError,
)

pytestmark = pytest.mark.allow_model_requests
SECRET = "sk-test-SECRET-4242"


class Verdict(BaseModel):
    correct: bool
    reason: str


def one_call_graph(
    client: OpenAIChatClient, *, structured: bool = False, stream: bool = False
) -> AgentGraph:
    async def ask(message: Message, ctx: RunContext) -> Envelope:
        request = ModelRequest.of("What is 2+2?", system="Be brief.")
        if structured:
            verdict = await ctx.complete(client, request, output=Verdict, max_retries=2)
            return Stop(detail=f"{verdict.correct}: {verdict.reason}")
        if stream:
            return Stop(detail="".join([p async for p in ctx.stream(client, request)]))
        return Stop(detail=(await ctx.complete(client, request)).text)

    return AgentGraph().add(FunctionAgent("asker", ask))


async def run_once(tmp_path: Path, client: OpenAIChatClient, **kw: bool):  # type: ignore[no-untyped-def]
    store = SqlRunStore(f"sqlite:///{tmp_path / 'runs.db'}")
    try:
        result = await Runtime(store).run(
            one_call_graph(client, **kw), Question(to="asker", text="go"), budget=Budget(seconds=30)
        )
    finally:
        await client.aclose()
    return result, store.model_calls(result.run_id), store


def client_for(server: FakeOpenAIServer, **kw: float) -> OpenAIChatClient:
    options = {"backoff": 0.01, "max_backoff": 2.0, "timeout": 5.0, **kw}
    return OpenAIChatClient(server.base_url, "fake-model", api_key=SECRET, seed=1, **options)  # type: ignore[arg-type]


async def test_a_plain_completion_is_recorded_with_usage(
    tmp_path: Path, server: FakeOpenAIServer
) -> None:
    server.enqueue(Scripted(text="four"))
    result, calls, _ = await run_once(tmp_path, client_for(server))
    assert result.detail == "four"
    (call,) = calls
    assert (call.status, call.attempts, call.model, call.agent) == ("ok", 1, "fake-model", "asker")
    assert call.prompt_tokens == 5 and call.completion_tokens == 1
    assert call.request["messages"][0] == {"role": "system", "content": "Be brief."}
    assert call.response is not None and call.response["text"] == "four"
    body = server.requests[0].body
    assert (
        body["model"] == "fake-model" and body["temperature"] == 0.0 and body["max_tokens"] == 256
    )
    assert server.requests[0].headers["Authorization"] == f"Bearer {SECRET}"


async def test_429_with_retry_after_is_honoured(tmp_path: Path, server: FakeOpenAIServer) -> None:
    server.enqueue(Scripted(status=429, headers={"Retry-After": "0.5"}), Scripted(text="ok"))
    start = time.perf_counter()
    result, calls, _ = await run_once(tmp_path, client_for(server, backoff=0.001))
    waited = time.perf_counter() - start
    assert result.reason == "completed" and result.detail == "ok"
    assert waited >= 0.5  # the jittered backoff alone would be ~1 ms
    assert [(c.status, c.attempts) for c in calls] == [("ok", 2)]


async def test_500_twice_then_200_succeeds_on_the_third_attempt(
    tmp_path: Path, server: FakeOpenAIServer
) -> None:
    server.enqueue(Scripted(status=500), Scripted(status=503), Scripted(text="finally"))
    result, calls, _ = await run_once(tmp_path, client_for(server))
    assert result.detail == "finally"
    assert [(c.status, c.attempts) for c in calls] == [("ok", 3)]
    assert len(server.requests) == 3


async def test_persistent_500_raises_model_http_error_and_records_the_failure(
    tmp_path: Path, server: FakeOpenAIServer
) -> None:
    server.enqueue(*[Scripted(status=500, raw='{"error": "overloaded"}')] * 4)
    result, calls, _ = await run_once(tmp_path, client_for(server, max_retries=3))
    assert result.reason == "error"
    error = result.messages[-2]
    assert isinstance(error, Error) and error.error_type == "ModelHTTPError"
    assert "answered HTTP 500" in error.detail and "after 4 attempt(s)" in error.detail
    (call,) = calls
    assert (call.status, call.attempts, call.response) == ("error", 4, None)
    assert call.error is not None and "overloaded" in call.error


async def test_a_body_that_is_not_json_is_a_clear_error_without_retries(
    tmp_path: Path, server: FakeOpenAIServer
) -> None:
    server.enqueue(Scripted(raw="<html>Bad Gateway page</html>", status=200))
    result, calls, _ = await run_once(tmp_path, client_for(server))
    assert result.reason == "error"
    assert "body that is not JSON: '<html>Bad Gateway page</html>'" in result.detail
    assert "ending in /v1" in result.detail
    assert [(c.status, c.attempts) for c in calls] == [("error", 1)]
    assert len(server.requests) == 1


async def test_a_server_slower_than_the_timeout_fails_after_retries(
    tmp_path: Path, server: FakeOpenAIServer
) -> None:
    server.enqueue(*[Scripted(text="late", delay=1.0)] * 2)
    result, calls, _ = await run_once(tmp_path, client_for(server, timeout=0.2, max_retries=1))
    assert result.reason == "error"
    assert "timed out after 0.2s" in result.detail and "after 2 attempt(s)" in result.detail
    (call,) = calls
    assert (call.status, call.attempts) == ("error", 2)


async def test_structured_output_fails_validation_twice_then_passes(
    tmp_path: Path, server: FakeOpenAIServer
) -> None:
    server.enqueue(
        Scripted(text='{"correct": "yes please"}'),
        Scripted(text="I think it is right"),
        Scripted(text='{"correct": true, "reason": "2+2=4"}'),
    )
    result, calls, _ = await run_once(tmp_path, client_for(server), structured=True)
    assert result.detail == "True: 2+2=4"
    assert [c.status for c in calls] == ["ok", "ok", "ok"]
    third = server.requests[2].body["messages"]
    assert [m["role"] for m in third] == [
        "system",
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
    ]
    assert "did not validate" in third[-1]["content"]
    assert server.requests[0].body["response_format"]["type"] == "json_schema"


async def test_streaming_over_sse(tmp_path: Path, server: FakeOpenAIServer) -> None:
    server.enqueue(Scripted(text="two plus two is four"))
    result, calls, _ = await run_once(tmp_path, client_for(server), stream=True)
    assert result.detail == "two plus two is four"
    assert server.requests[0].body["stream"] is True
    (call,) = calls
    assert call.completion_tokens == 5 and call.response is not None
    assert call.response["text"] == "two plus two is four"


async def test_an_unreachable_endpoint_is_a_clear_error(tmp_path: Path) -> None:
    with FakeOpenAIServer() as srv:
        url = srv.base_url  # a port that was just free; nothing listens there any more
    client = OpenAIChatClient(url, "m", max_retries=1, backoff=0.01, timeout=2)
    result, calls, _ = await run_once(tmp_path, client)
    assert result.reason == "error"
    assert "could not get a response (ConnectError" in result.detail
    assert "Is the server running and reachable? Check base_url" in result.detail
    assert [(c.status, c.attempts) for c in calls] == [("error", 2)]


async def test_the_concurrency_limit_holds(server: FakeOpenAIServer) -> None:
    in_flight = {"now": 0, "max": 0}
    import threading

    lock = threading.Lock()

    def slow(body: dict[str, object]) -> Scripted:
        with lock:
            in_flight["now"] += 1
            in_flight["max"] = max(in_flight["max"], in_flight["now"])
        time.sleep(0.05)
        with lock:
            in_flight["now"] -= 1
        return Scripted(text="ok")

    with FakeOpenAIServer(slow) as srv:
        client = OpenAIChatClient(srv.base_url, "m", max_concurrency=3)
        await asyncio.gather(*(client.complete(ModelRequest.of(str(i))) for i in range(12)))
        await client.aclose()
    assert in_flight["max"] == 3


async def test_an_injected_http_client_is_used() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"choices": [{"message": {"content": "mocked"}}]})

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    client = OpenAIChatClient("http://model.invalid/v1", "m", http_client=http)
    assert (await client.complete(ModelRequest.of("hi"))).text == "mocked"
    assert str(seen[0].url) == "http://model.invalid/v1/chat/completions"
    await client.aclose()
    assert not http.is_closed  # not ours to close
    await http.aclose()


async def test_api_keys_never_reach_the_store_the_cache_or_the_logs(
    tmp_path: Path, server: FakeOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server.enqueue(
        Scripted(text="ok"),
        Scripted(status=500),
        Scripted(status=500),
        Scripted(status=500),
        Scripted(status=500),
    )
    client = client_for(server)
    await run_once(tmp_path, client)
    await run_once(tmp_path, client)  # a failing run too: errors are recorded
    cached = CachedModel(client, tmp_path / "cache.sqlite")
    server.enqueue(Scripted(text="cached"))
    await cached.complete(ModelRequest.of("hello"))
    await cached.aclose()
    assert SECRET not in repr(client) and SECRET not in client.describe()
    for path in tmp_path.iterdir():
        assert SECRET.encode() not in path.read_bytes(), path
    assert SECRET not in caplog.text
    assert all(r.headers.get("Authorization") == f"Bearer {SECRET}" for r in server.requests)


def test_real_model_requests_are_blocked_unless_a_test_opts_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LYCEUM_BLOCK_MODEL_REQUESTS", "1")
    client = OpenAIChatClient("https://api.example.com/v1", "gpt")
    with pytest.raises(ModelRequestsBlocked, match="allow_model_requests"):
        asyncio.run(client.complete(ModelRequest.of("hi")))


def test_bad_constructor_arguments_are_clear_errors() -> None:
    with pytest.raises(UserError, match="must start with http:// or https://"):
        OpenAIChatClient("localhost:8000/v1", "m")
    with pytest.raises(UserError, match="max_concurrency >= 1"):
        OpenAIChatClient("http://localhost:8000/v1", "m", max_concurrency=0)


def test_the_fake_server_lists_models(server: FakeOpenAIServer) -> None:
    response = httpx.get(f"{server.base_url}/models")
    assert response.json()["data"] == [{"id": "fake", "object": "model"}]


def test_answers_are_not_retried_on_4xx(server: FakeOpenAIServer) -> None:
    server.enqueue(Scripted(status=401, raw='{"error": "bad key"}'))
    client = client_for(server)

    async def call() -> None:
        try:
            await client.complete(ModelRequest.of("hi"))
        finally:
            await client.aclose()

    with pytest.raises(ModelHTTPError) as info:
        asyncio.run(call())
    assert info.value.status == 401 and info.value.attempts == 1
    assert "not retried" in str(info.value)
    assert Answer  # the module's imports are all used


async def test_structured_re_asks_are_held_to_the_runs_budget(server: FakeOpenAIServer) -> None:
    server.enqueue(Scripted(text="nope"), Scripted(text='{"correct": false, "reason": "5"}'))
    client = client_for(server)
    try:
        result = await Runtime().run(
            one_call_graph(client, structured=True),
            Question(to="asker", text="go"),
            budget=Budget(model_calls=1),
        )
    finally:
        await client.aclose()
    assert result.reason == "max_model_calls"  # the re-ask would be a second call
    assert len(server.requests) == 1
    assert not hasattr(client, "complete_structured")  # no path around the budget


# -- streams that drop before [DONE] ----------------------------------------------------------
def keyless(server: FakeOpenAIServer) -> OpenAIChatClient:
    """A client without a key, so no text is held back to redact a split key."""
    return OpenAIChatClient(server.base_url, "fake-model", backoff=0.01, timeout=5.0, seed=1)


async def test_a_stream_that_drops_is_retried_and_resumed_without_repeating_text(
    tmp_path: Path, server: FakeOpenAIServer
) -> None:
    events: list[str] = []

    async def ask(message: Message, ctx: RunContext) -> Envelope:
        async for piece in ctx.stream(client, ModelRequest.of("What is 2+2?", seed=7)):
            events.append(piece)
        return Stop(detail="".join(events))

    # Two words arrive, then the connection closes without [DONE] or a finish_reason.
    server.enqueue(
        Scripted(text="two plus two is four", drop_after=2), Scripted(text="two plus two is four")
    )
    client = keyless(server)
    store = SqlRunStore(f"sqlite:///{tmp_path / 'runs.db'}")
    result = await Runtime(store).run(
        AgentGraph().add(FunctionAgent("asker", ask)), Question(to="asker", text="go")
    )
    await client.aclose()
    assert (result.reason, result.detail) == ("completed", "two plus two is four")
    assert events == ["two", " plus", " two", " is", " four"]  # nothing yielded twice
    assert len(server.requests) == 2
    (call,) = store.model_calls(result.run_id)
    assert (call.status, call.attempts, call.completion_tokens) == ("ok", 2, 5)


async def test_a_stream_that_keeps_dropping_stops_the_run_with_a_typed_error(
    tmp_path: Path, server: FakeOpenAIServer
) -> None:
    server.enqueue(*[Scripted(text="two plus two is four", drop_after=2)] * 3)
    client = client_for(server, max_retries=2)
    result, calls, store = await run_once(tmp_path, client, stream=True)
    assert result.reason == "error" and result.status == "error"
    error, stop = result.messages[-2:]
    assert error == Error(
        id=error.id,
        run_id=result.run_id,
        sender="asker",
        recipients=(),
        parent_id=error.parent_id,
        timestamp=error.timestamp,
        error_type="ModelHTTPError",
        detail=f"{client.url} could not get a response (the stream ended before [DONE] and "
        "without a finish_reason; the connection dropped and the reply is truncated) after 3 "
        "attempt(s). Is the server running and reachable? Check base_url and timeout.",
    )
    assert isinstance(stop, Stop) and stop.reason == "error"
    assert [(c.status, c.attempts, c.response) for c in calls] == [("error", 3, None)]
    assert store.get_run(result.run_id).status == "error"
    assert len(server.requests) == 3


async def test_a_resumed_stream_that_answers_differently_is_an_error(
    tmp_path: Path, server: FakeOpenAIServer
) -> None:
    server.enqueue(
        Scripted(text="two plus two is four", drop_after=2), Scripted(text="two times two is four")
    )
    client = keyless(server)
    result, calls, _ = await run_once(tmp_path, client, stream=True)
    assert result.reason == "error"
    assert result.detail == (
        f"agent 'asker' failed: ModelHTTPError: {client.url} dropped a stream after 8 "
        "characters, and attempt 2 answered differently, so the reply cannot be resumed; set a "
        "seed and temperature 0, or use complete() instead of stream()"
    )
    assert [(c.status, c.attempts) for c in calls] == [("error", 2)]


async def test_a_stream_with_a_finish_reason_but_no_done_is_complete(
    tmp_path: Path, server: FakeOpenAIServer
) -> None:
    server.enqueue(Scripted(text="four", drop_after=2))  # the word, then finish_reason
    result, calls, _ = await run_once(tmp_path, client_for(server), stream=True)
    assert (result.reason, result.detail) == ("completed", "four")
    assert [(c.status, c.attempts) for c in calls] == [("ok", 1)]

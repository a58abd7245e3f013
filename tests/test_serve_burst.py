"""A burst of 100 concurrent requests through ``OpenAIChatClient``: to a real
``transformers serve``, and to loopback servers that misbehave (error statuses, garbage
bodies, stalls past the timeout, a server killed mid-burst).

Each burst must end before a deadline (the test fails with what was still pending instead
of hanging the suite), every reply must be a valid completion or a typed ``LyceumError``,
and the client's ``max_concurrency`` must hold, counted from outside the client: by a
transport wrapped around the real one (for an injected ``http_client``), or by the server
(for the client's own pools).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agents.models import ChatMessage, ModelRequest, ModelResponse, OpenAIChatClient, TextDelta
from agents.models.fake_server import FakeOpenAIServer, Scripted
from protocols import LyceumError, ModelHTTPError

from .conftest import require
from .servers import TransformersServe, serve_available
from .tiny_models import tiny_chat_model

pytestmark = pytest.mark.allow_model_requests

BURST = 100
LIMIT = 8
Outcome = ModelResponse | BaseException


class InFlight(httpx.AsyncBaseTransport):
    """Wraps a real transport and counts requests in flight: from the moment a request is
    handed to the transport until its response body is closed."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.now = 0
        self.peak = 0
        self.total = 0

    def _enter(self) -> None:
        self.now += 1
        self.total += 1
        self.peak = max(self.peak, self.now)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._enter()
        try:
            response = await self.inner.handle_async_request(request)
        except BaseException:
            self.now -= 1
            raise
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_Counted(response.stream, self),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self.inner.aclose()


class _Counted(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream | httpx.AsyncByteStream, owner: InFlight):
        assert isinstance(inner, httpx.AsyncByteStream)
        self.inner = inner
        self.owner = owner
        self.open = True

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.inner:
            yield chunk

    async def aclose(self) -> None:
        if self.open:
            self.open = False
            self.owner.now -= 1
        await self.inner.aclose()


def request(i: int, max_tokens: int = 4) -> ModelRequest:
    return ModelRequest(
        messages=(ChatMessage(role="user", content=f"the student adds request {i}"),),
        max_tokens=max_tokens,
        temperature=0,
    )


async def streamed(client: OpenAIChatClient, req: ModelRequest) -> ModelResponse:
    """The final ``ModelResponse`` of a stream, checked against the text it streamed."""
    pieces: list[str] = []
    async for item in client.stream(req):
        if isinstance(item, TextDelta):
            pieces.append(item.text)
        else:
            assert item.text == "".join(pieces)
            return item
    raise AssertionError("the stream ended without a ModelResponse")


async def burst(
    call: Callable[[int], Awaitable[ModelResponse]], *, deadline: float, n: int = BURST
) -> list[Outcome]:
    """Start ``n`` calls at once; their outcomes, or a test failure naming the calls still
    pending after ``deadline`` seconds (they are cancelled, so nothing hangs)."""
    tasks = [asyncio.ensure_future(call(i)) for i in range(n)]
    _, pending = await asyncio.wait(tasks, timeout=deadline)
    if pending:
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        waiting = [i for i, task in enumerate(tasks) if task in pending]
        pytest.fail(f"{len(pending)} of {n} calls still pending after {deadline:g}s: {waiting}")
    return [t.exception() or t.result() for t in tasks]


def kinds(outcomes: list[Outcome]) -> dict[str, int]:
    """How many outcomes of each kind: ``ok``, or the error's class and status."""
    counts: dict[str, int] = {}
    for out in outcomes:
        if isinstance(out, ModelResponse):
            key = "ok"
        elif isinstance(out, ModelHTTPError):
            key = f"ModelHTTPError {out.status}"
        else:
            key = type(out).__name__
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def assert_typed(outcomes: list[Outcome]) -> None:
    """Every outcome is a completion with text and usage, or a ``LyceumError``."""
    for i, out in enumerate(outcomes):
        if isinstance(out, ModelResponse):
            assert isinstance(out.text, str)
            assert out.usage.prompt_tokens > 0 and out.usage.completion_tokens > 0, (i, out)
        else:
            assert isinstance(out, LyceumError), f"call {i} raised {type(out).__name__}: {out}"


# -- the real server ----------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TransformersServe]:
    problem = serve_available()
    require(problem is None, problem or "")
    folder = tiny_chat_model(tmp_path_factory.mktemp("burst") / "tiny-chat")
    with TransformersServe(folder) as server:
        yield server


@pytest.mark.slow  # 100 generations on CPU, ~10-20 s
async def test_a_burst_to_transformers_serve_completes_within_the_limit(
    tiny_server: TransformersServe,
) -> None:
    transport = InFlight(httpx.AsyncHTTPTransport())
    async with httpx.AsyncClient(transport=transport) as http:
        client = OpenAIChatClient(
            tiny_server.base_url,
            tiny_server.model,
            http_client=http,
            max_concurrency=LIMIT,
            dialect="prompt",
            timeout=60,
        )

        async def call(i: int) -> ModelResponse:
            # Half plain completions, half streams (which hold their slot until [DONE]).
            return await (streamed if i % 2 else OpenAIChatClient.complete)(client, request(i))

        outcomes = await burst(call, deadline=120)
    assert_typed(outcomes)
    assert kinds(outcomes) == {"ok": BURST}, tiny_server.log()[-2000:]
    assert all(isinstance(o, ModelResponse) and not o.usage.estimated for o in outcomes)
    assert all(isinstance(o, ModelResponse) and o.attempts == 1 for o in outcomes)
    assert transport.total == BURST
    assert transport.peak == LIMIT  # the limit was reached, and never passed
    assert transport.now == 0


# -- loopback servers that misbehave ------------------------------------------------


class Gauge:
    """Counts the requests a ``FakeOpenAIServer`` is answering at once (server side)."""

    def __init__(self) -> None:
        self.now = 0
        self.peak = 0
        self._lock = threading.Lock()

    def __call__(self, reply: Scripted, hold: float) -> Scripted:
        with self._lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        time.sleep(hold)
        with self._lock:
            self.now -= 1
        return reply


OK = Scripted(text="a fine reply")
GARBAGE = {
    # request number % 8 -> the reply, and the outcome the client must turn it into
    1: (Scripted(status=429, headers={"Retry-After": "0"}), "ModelHTTPError 429"),
    2: (Scripted(status=500), "ModelHTTPError 500"),
    3: (Scripted(raw="<html>bad gateway</html>"), "ModelHTTPError 200"),
    4: (Scripted(raw='{"choices": []}'), "ModelHTTPError 200"),
    5: (
        Scripted(
            raw=json.dumps(
                {
                    "choices": [{"message": {"content": "x"}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": "many", "completion_tokens": 1},
                }
            )
        ),
        "ModelHTTPError 200",
    ),
    6: (
        Scripted(raw=json.dumps({"choices": [{"message": {"content": "x"}, "finish_reason": 3}]})),
        "ModelHTTPError 200",
    ),
    7: (Scripted(status=404), "ModelHTTPError 404"),
}


def faulty(gauge: Gauge) -> Callable[[dict[str, Any]], Scripted]:
    """Answers by the request's number (in its text), so retries get the same answer."""

    def reply(body: dict[str, Any]) -> Scripted:
        number = int(body["messages"][-1]["content"].rsplit(" ", 1)[1])
        scripted, _ = GARBAGE.get(number % 8, (OK, "ok"))
        return gauge(scripted, 0.2)

    return reply


@pytest.mark.parametrize("inject", [False, True], ids=["own-pools", "injected-client"])
async def test_a_burst_to_a_faulty_server_gets_typed_errors_within_the_limit(
    inject: bool,
) -> None:
    gauge = Gauge()
    transport = InFlight(httpx.AsyncHTTPTransport())
    with FakeOpenAIServer(faulty(gauge)) as server:
        async with httpx.AsyncClient(transport=transport) as http:
            client = OpenAIChatClient(
                server.base_url,
                "fake",
                http_client=http if inject else None,
                # More than one of the client's own pools of 8 connections.
                max_concurrency=2 * LIMIT + 3,
                max_retries=1,
                backoff=0.01,
                seed=0,
            )
            try:
                outcomes = await burst(lambda i: client.complete(request(i)), deadline=60)
            finally:
                await client.aclose()
    assert_typed(outcomes)
    for i, out in enumerate(outcomes):
        _, expected = GARBAGE.get(i % 8, (OK, "ok"))
        assert kinds([out]) == {expected: 1}, (i, out)
    retried = [o for o in outcomes if isinstance(o, ModelHTTPError) and o.status in (429, 500)]
    assert retried and all(o.attempts == 2 for o in retried)
    assert gauge.peak == 2 * LIMIT + 3
    assert transport.peak == (2 * LIMIT + 3 if inject else 0)


async def test_a_burst_to_a_stalled_server_times_out_with_typed_errors() -> None:
    gauge = Gauge()
    with FakeOpenAIServer(lambda body: gauge(OK, 1.0)) as server:
        client = OpenAIChatClient(
            server.base_url, "fake", timeout=0.2, max_retries=1, backoff=0.01, seed=0
        )
        start = time.perf_counter()
        try:
            outcomes = await burst(lambda i: client.complete(request(i)), deadline=30)
        finally:
            await client.aclose()
    elapsed = time.perf_counter() - start
    assert_typed(outcomes)
    assert kinds(outcomes) == {"ModelHTTPError None": BURST}
    assert all(isinstance(o, ModelHTTPError) and o.attempts == 2 for o in outcomes)
    assert all("timed out after 0.2s" in str(o) for o in outcomes)
    # 100 calls x 2 attempts of 0.2 s, 16 at a time: about 2.5 s, never 100 x 1 s.
    assert elapsed < 15


async def test_a_server_killed_mid_burst_gives_completions_then_typed_errors() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from agents.models.fake_server import main; main()",
            "--delay",
            "0.05",
        ],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[1],
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().decode().strip()
        client = OpenAIChatClient(
            base_url, "fake", max_concurrency=LIMIT, max_retries=1, backoff=0.01, seed=0
        )
        answered = 0

        async def call(i: int) -> ModelResponse:
            nonlocal answered
            response = await client.complete(request(i))
            answered += 1
            if answered == 30:
                process.kill()  # mid-burst: some requests are in flight, most not sent
            return response

        try:
            outcomes = await burst(call, deadline=30)
        finally:
            await client.aclose()
    finally:
        process.kill()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
    assert_typed(outcomes)
    counts = kinds(outcomes)
    assert set(counts) == {"ok", "ModelHTTPError None"}, counts
    assert 30 <= counts["ok"] < 30 + LIMIT  # those already answered when it died
    failed = [o for o in outcomes if isinstance(o, ModelHTTPError)]
    assert all(o.attempts == 2 and "could not get a response" in str(o) for o in failed)


@pytest.mark.parametrize(
    ("event", "says"),
    [
        ({"choices": 5}, "not a JSON object"),
        ({"choices": [{"delta": {"content": "x"}, "finish_reason": 3}]}, "finish_reason"),
        (
            {
                "choices": [{"delta": {}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": "many"},
            },
            "usage that is not token counts",
        ),
    ],
    ids=["choices", "finish_reason", "usage"],
)
async def test_garbage_in_a_stream_is_a_typed_error(event: dict[str, Any], says: str) -> None:
    sse = Scripted(
        raw=f"data: {json.dumps(event)}\n\n", headers={"Content-Type": "text/event-stream"}
    )
    with FakeOpenAIServer(lambda body: sse) as server:
        client = OpenAIChatClient(server.base_url, "fake", max_retries=0)
        try:
            with pytest.raises(ModelHTTPError, match=says) as raised:
                await streamed(client, request(0))
        finally:
            await client.aclose()
    assert raised.value.status == 200

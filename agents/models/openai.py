"""``OpenAIChatClient``: any OpenAI-compatible ``/v1/chat/completions`` endpoint over httpx.

Works with vLLM, the llama.cpp server, Ollama and hosted APIs. Retries 429, 5xx, timeouts
and connection errors with exponential backoff and full jitter, honouring ``Retry-After``;
limits concurrency; streams over SSE; raises ``ModelHTTPError(status, body)`` when it
finally fails. The API key is sent as a header and never recorded anywhere.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from httpx_sse import aconnect_sse
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from agents.models.base import (
    ModelClient,
    ModelRequest,
    ModelResponse,
    TextDelta,
    Usage,
    check_model_requests_allowed,
)
from protocols import ModelHTTPError, UserError

__all__ = ["OpenAIChatClient"]

_SHARD = 8
_RETRY_STATUS = frozenset({408, 409, 429}) | frozenset(range(500, 600))


class _Retryable(Exception):
    """One failed attempt that may be retried."""

    def __init__(self, status: int | None, body: str, retry_after: float | None = None) -> None:
        super().__init__(body)
        self.status = status
        self.body = body
        self.retry_after = retry_after


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class OpenAIChatClient(ModelClient):
    """Client for an OpenAI-compatible chat-completions API.

    Args:
        base_url: The API root, e.g. ``http://localhost:8000/v1``.
        model: The model name to request.
        api_key: Sent as ``Authorization: Bearer``; never logged, cached or stored.
        http_client: An ``httpx.AsyncClient`` to use (inject one with a ``MockTransport`` in
            tests). When omitted, one is created on first use and closed by ``aclose``.
        timeout: Seconds per attempt.
        max_retries: Retries after the first attempt (so ``max_retries + 1`` attempts).
        backoff: Base delay in seconds of the exponential backoff.
        max_backoff: Upper bound of one delay, ``Retry-After`` included.
        max_concurrency: Requests in flight at once from this client.
        seed: Seed of the jitter, for reproducible retry timing.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        http_client: httpx.AsyncClient | None = None,
        timeout: float = 60.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        max_concurrency: int = 16,
        seed: int | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise UserError(
                f"base_url must start with http:// or https://, got {base_url!r} "
                "(for example 'http://localhost:8000/v1')"
            )
        if max_concurrency < 1 or max_retries < 0 or timeout <= 0:
            raise UserError(
                f"need max_concurrency >= 1, max_retries >= 0 and timeout > 0; got "
                f"{max_concurrency}, {max_retries}, {timeout}"
            )
        self.base_url = base_url.rstrip("/")
        self.model = model
        self._api_key = api_key
        self._client = http_client
        self._shards: list[httpx.AsyncClient] = []
        self._next_shard = 0
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._max_concurrency = max_concurrency
        self._limit = asyncio.Semaphore(max_concurrency)
        self._rng = random.Random(seed)

    def __repr__(self) -> str:
        return f"OpenAIChatClient(base_url={self.base_url!r}, model={self.model!r})"

    def describe(self) -> str:
        return f"OpenAIChatClient({self.model} @ {self.base_url})"

    @property
    def url(self) -> str:
        return f"{self.base_url}/chat/completions"

    def _http(self) -> httpx.AsyncClient:
        if self._client is not None:
            return self._client
        if not self._shards:
            # httpcore's pool does work quadratic in its size on every request, so large
            # concurrency is spread over pools of at most _SHARD connections each, all kept
            # alive (benchmarks/bench_runtime.py measures the effect).
            n = self._max_concurrency
            sizes = [min(_SHARD, n - i) for i in range(0, n, _SHARD)]
            self._shards = [
                httpx.AsyncClient(
                    limits=httpx.Limits(max_connections=s, max_keepalive_connections=s)
                )
                for s in sizes
            ]
        self._next_shard = (self._next_shard + 1) % len(self._shards)
        return self._shards[self._next_shard]

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    def _body(self, request: ModelRequest, *, stream: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [m.model_dump() for m in request.messages],
            "temperature": request.temperature,
        }
        if request.max_tokens is not None:
            body["max_tokens"] = request.max_tokens
        if request.stop:
            body["stop"] = list(request.stop)
        if request.seed is not None:
            body["seed"] = request.seed
        if request.response_schema is not None:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "output", "schema": request.response_schema},
            }
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return body

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        ceiling = min(self.max_backoff, self.backoff * 2 ** (state.attempt_number - 1))
        delay = self._rng.uniform(0, ceiling)
        if isinstance(exc, _Retryable) and exc.retry_after is not None:
            delay = max(delay, exc.retry_after)
        return min(delay, self.max_backoff)

    def _retrying(self) -> AsyncRetrying:
        return AsyncRetrying(
            stop=stop_after_attempt(self.max_retries + 1),
            wait=self._wait,
            retry=retry_if_exception(lambda e: isinstance(e, _Retryable)),
            reraise=True,
        )

    def _final_error(self, exc: _Retryable, attempts: int) -> ModelHTTPError:
        if exc.status is None:
            what = f"could not get a response ({exc.body})"
            fix = "Is the server running and reachable? Check base_url and timeout."
        else:
            what = f"answered HTTP {exc.status}: {exc.body[:300]}"
            fix = "Check the server's logs, the model name and the API key."
        return ModelHTTPError(
            f"{self.url} {what} after {attempts} attempt(s). {fix}",
            status=exc.status,
            body=exc.body,
            attempts=attempts,
        )

    async def _post_once(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            async with self._limit:
                response = await self._http().post(
                    self.url, json=body, headers=self._headers(), timeout=self.timeout
                )
        except httpx.TimeoutException as exc:
            raise _Retryable(
                None, f"timed out after {self.timeout:g}s ({type(exc).__name__})"
            ) from exc
        except httpx.TransportError as exc:
            raise _Retryable(None, f"{type(exc).__name__}: {exc}") from exc
        if response.status_code in _RETRY_STATUS:
            raise _Retryable(
                response.status_code,
                response.text[:2000],
                _retry_after(response.headers.get("Retry-After")),
            )
        if response.status_code >= 400:
            raise ModelHTTPError(
                f"{self.url} answered HTTP {response.status_code}: {response.text[:300]}. "
                "This status is not retried; check the request, model name and API key.",
                status=response.status_code,
                body=response.text[:2000],
            )
        try:
            data = response.json()
        except json.JSONDecodeError:
            raise ModelHTTPError(
                f"{self.url} answered HTTP {response.status_code} with a body that is not "
                f"JSON: {response.text[:200]!r}. Is base_url an OpenAI-compatible API root "
                "(ending in /v1)?",
                status=response.status_code,
                body=response.text[:2000],
            ) from None
        if not isinstance(data, dict):
            raise ModelHTTPError(
                f"{self.url} answered with JSON that is not an object: {str(data)[:200]}",
                status=response.status_code,
                body=response.text[:2000],
            )
        return data

    def _parse(self, data: dict[str, Any], latency_ms: float, attempts: int) -> ModelResponse:
        try:
            choice = data["choices"][0]
            text = choice["message"].get("content") or ""
        except (KeyError, IndexError, TypeError, AttributeError):
            raise ModelHTTPError(
                f"{self.url} answered without choices[0].message: {json.dumps(data)[:300]}",
                status=200,
                body=json.dumps(data)[:2000],
                attempts=attempts,
            ) from None
        usage = data.get("usage") or {}
        return ModelResponse(
            text=text,
            model=str(data.get("model") or self.model),
            usage=Usage(
                prompt_tokens=int(usage.get("prompt_tokens") or 0),
                completion_tokens=int(usage.get("completion_tokens") or 0),
            ),
            latency_ms=latency_ms,
            finish_reason=choice.get("finish_reason"),
            attempts=attempts,
        )

    async def complete(self, request: ModelRequest) -> ModelResponse:
        check_model_requests_allowed(type(self).__name__, self.url)
        body = self._body(request, stream=False)
        start = time.perf_counter()
        attempts = 0
        try:
            async for attempt in self._retrying():
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    data = await self._post_once(body)
        except _Retryable as exc:
            raise self._final_error(exc, attempts) from None
        except ModelHTTPError as exc:
            exc.attempts = attempts
            raise
        return self._parse(data, (time.perf_counter() - start) * 1000, attempts)

    async def stream(self, request: ModelRequest) -> AsyncIterator[TextDelta | ModelResponse]:
        """Stream over SSE. Retries apply until the first byte of the stream arrives."""
        check_model_requests_allowed(type(self).__name__, self.url)
        body = self._body(request, stream=True)
        start = time.perf_counter()
        pieces: list[str] = []
        usage: dict[str, Any] = {}
        finish: str | None = None
        attempts = 0
        try:
            async for attempt in self._retrying():
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    try:
                        async for item in self._stream_once(body):
                            if isinstance(item, TextDelta):
                                pieces.append(item.text)
                                yield item
                            else:
                                usage, finish = item
                    except _Retryable as exc:
                        if pieces:  # text already went out: a retry would repeat it
                            raise self._final_error(exc, attempts) from None
                        raise
        except _Retryable as exc:
            raise self._final_error(exc, attempts) from None
        yield ModelResponse(
            text="".join(pieces),
            model=self.model,
            usage=Usage(
                prompt_tokens=int(usage.get("prompt_tokens") or 0),
                completion_tokens=int(usage.get("completion_tokens") or 0),
            ),
            latency_ms=(time.perf_counter() - start) * 1000,
            finish_reason=finish,
            attempts=attempts,
        )

    async def _stream_once(
        self, body: dict[str, Any]
    ) -> AsyncIterator[TextDelta | tuple[dict[str, Any], str | None]]:
        usage: dict[str, Any] = {}
        finish: str | None = None
        try:
            async with (
                self._limit,
                aconnect_sse(
                    self._http(),
                    "POST",
                    self.url,
                    json=body,
                    headers=self._headers(),
                    timeout=self.timeout,
                ) as source,
            ):
                status = source.response.status_code
                if status >= 400:
                    text = (await source.response.aread()).decode(errors="replace")
                    if status in _RETRY_STATUS:
                        raise _Retryable(
                            status,
                            text[:2000],
                            _retry_after(source.response.headers.get("Retry-After")),
                        )
                    raise ModelHTTPError(
                        f"{self.url} answered HTTP {status}: {text[:300]}",
                        status=status,
                        body=text[:2000],
                    )
                async for event in source.aiter_sse():
                    if event.data.strip() == "[DONE]":
                        break
                    chunk = json.loads(event.data)
                    usage = chunk.get("usage") or usage
                    for choice in chunk.get("choices") or []:
                        finish = choice.get("finish_reason") or finish
                        delta = (choice.get("delta") or {}).get("content")
                        if delta:
                            yield TextDelta(text=delta)
        except httpx.TimeoutException as exc:
            raise _Retryable(
                None, f"timed out after {self.timeout:g}s ({type(exc).__name__})"
            ) from exc
        except httpx.TransportError as exc:
            raise _Retryable(None, f"{type(exc).__name__}: {exc}") from exc
        except json.JSONDecodeError as exc:
            raise ModelHTTPError(
                f"{self.url} sent an SSE event that is not JSON: {exc}", status=200, body=str(exc)
            ) from None
        yield (usage, finish)

    async def aclose(self) -> None:
        shards, self._shards = self._shards, []
        for shard in shards:
            await shard.aclose()

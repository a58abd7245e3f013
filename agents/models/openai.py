"""``OpenAIChatClient``: any OpenAI-compatible ``/v1/chat/completions`` endpoint over httpx.

Works with vLLM, the llama.cpp server, Ollama, ``transformers serve`` and hosted APIs.
Structured output speaks each server's dialect (``agents.models.dialects``): chosen with
``dialect=``, or discovered (``"auto"``), falling back when the server refuses
``response_format`` and remembering the answer. Such a refusal is never retried as
transient. When a server reports no usage, the client counts the tokens itself (with the
model's tokenizer when ``tokenizer=`` names a local folder, else ``ceil(chars / 4)``) and
marks the usage ``estimated``. Retries 429, 5xx, timeouts
and connection errors with exponential backoff and full jitter, honouring ``Retry-After``;
limits concurrency; streams over SSE; raises ``ModelHTTPError(status, body)`` when it
finally fails. A stream that drops before ``[DONE]`` or a ``finish_reason`` is an error
too, retried like a dropped connection.

Secrets stay out of everything the client returns, raises or shows. A key with whitespace
or control characters is refused when the client is built. Credentials in ``base_url``
(``https://user:KEY@host/v1``, ``?api-key=KEY``) are sent but shown masked (``describe``,
``repr``, error messages), and the API key and URL credentials are redacted from response
bodies, error texts and replies before they leave the client, so a server that echoes
them cannot get them stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx
from httpx_sse import aconnect_sse
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from agents.models._transport import (
    AddQuery,
    Resume,
    Retryable,
    Unsupported,
    env_proxy,
    key_problem,
    retry_after,
)
from agents.models.base import (
    ChatMessage,
    ModelClient,
    ModelRequest,
    ModelResponse,
    TextDelta,
    Usage,
    check_model_requests_allowed,
)
from agents.models.dialects import FALLBACK, Dialect, apply_dialect, check_dialect, names_format
from agents.models.usage import TokenCounter, server_usage
from protocols import ModelHTTPError, UserError
from protocols.secrets import Redactor, basic_token, mask_url, url_secrets

__all__ = ["OpenAIChatClient"]

_SHARD = 8
_ORDER = ("json_schema", "json_object", "prompt")
log = logging.getLogger(__name__)
_RETRY_STATUS = frozenset({408, 409, 429}) | frozenset(range(500, 600))


class OpenAIChatClient(ModelClient):
    """Client for an OpenAI-compatible chat-completions API.

    Args:
        base_url: The API root, e.g. ``http://localhost:8000/v1``. Credentials in it
            (``https://user:KEY@host/v1`` is sent as ``Authorization: Basic``, a query such
            as ``?api-key=KEY`` is added to every request) are masked wherever the URL is
            shown; ``self.base_url`` is the masked form. With an injected ``http_client``,
            the query travels in the request URL, which httpx logs at INFO level.
        model: The model name to request.
        api_key: Sent as ``Authorization: Bearer``; never logged, cached or stored. A key
            with whitespace or control characters is refused.
        http_client: An ``httpx.AsyncClient`` to use (inject one with a ``MockTransport`` in
            tests). When omitted, one is created on first use and closed by ``aclose``.
        timeout: Seconds per attempt.
        max_retries: Retries after the first attempt (so ``max_retries + 1`` attempts).
        backoff: Base delay in seconds of the exponential backoff.
        max_backoff: Upper bound of one delay, ``Retry-After`` included.
        max_concurrency: Requests in flight at once from this client.
        seed: Seed of the jitter, for reproducible retry timing.
        dialect: How structured output (``ModelRequest.response_schema``) is asked for:
            ``"json_schema"`` (OpenAI, vLLM, Ollama), ``"json_object"`` (llama.cpp:
            ``{"type": "json_object", "schema": ...}``), ``"prompt"`` (no
            ``response_format``; the schema goes into a system message), or ``"auto"``:
            start with ``json_schema`` and, when the server answers 4xx/5xx with an error
            that names ``response_format`` or the schema, fall back to the next dialect
            and remember it for this client. ``dialect_in_use`` shows where it landed.
        tokenizer: A local folder with the model's tokenizer, used to count tokens when the
            server reports no usage; without it they are estimated as ``ceil(chars / 4)``.
            Either way the ``Usage`` is marked ``estimated``.
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
        dialect: Dialect = "auto",
        tokenizer: str | Path | None = None,
    ) -> None:
        self.dialect = check_dialect(dialect)
        if not base_url.startswith(("http://", "https://")):
            shown = mask_url(base_url if "://" in base_url else f"//{base_url}").lstrip("/")
            raise UserError(
                f"base_url must start with http:// or https://, got {shown!r} "
                "(for example 'http://localhost:8000/v1')"
            )
        if max_concurrency < 1 or max_retries < 0 or timeout <= 0:
            raise UserError(
                f"need max_concurrency >= 1, max_retries >= 0 and timeout > 0; got "
                f"{max_concurrency}, {max_retries}, {timeout}"
            )
        if api_key is not None:
            problem = key_problem(api_key)
            if problem:
                raise UserError(problem)
        parts = urlsplit(base_url)
        root = urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))
        self._root = root.rstrip("/")
        self._query = httpx.QueryParams(parts.query)
        self._authorization = f"Bearer {api_key}" if api_key else None
        if "@" in parts.netloc:
            if api_key:
                raise UserError(
                    f"base_url {mask_url(base_url)!r} carries credentials and api_key is given "
                    "too; give the key one way only (api_key= is the usual one)"
                )
            user, password = unquote(parts.username or ""), unquote(parts.password or "")
            self._authorization = f"Basic {basic_token(user, password)}"
        self._redact = Redactor([api_key, *url_secrets(base_url)])
        self.base_url = mask_url(
            urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), parts.query, ""))
        )
        self.model = model
        self._client = http_client
        self._shards: list[httpx.AsyncClient] = []
        self._sizes: list[int] = []
        self._busy: list[int] = []  # requests in flight per pool
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._max_concurrency = max_concurrency
        self._limit = asyncio.Semaphore(max_concurrency)
        self._rng = random.Random(seed)
        self._learned: str | None = None
        self._counter = TokenCounter(tokenizer)

    def __repr__(self) -> str:
        return f"OpenAIChatClient(base_url={self.base_url!r}, model={self.model!r})"

    def describe(self) -> str:
        return f"OpenAIChatClient({self.model} @ {self.base_url})"

    @property
    def url(self) -> str:
        """The chat-completions endpoint as it may be shown (credentials masked)."""
        root, mark, query = self.base_url.partition("?")
        return f"{root}/chat/completions{mark}{query}"

    def _endpoint(self, *, with_query: bool) -> str:
        url = f"{self._root}/chat/completions"
        if with_query and self._query:
            url = str(httpx.URL(url, params=self._query))
        return url

    def _target(self) -> str:
        """The URL to send to: the query rides on our own pools' transport, below httpx's
        request log; an injected client gets it in the URL."""
        return self._endpoint(with_query=self._client is not None)

    def redact(self, text: str) -> str:
        """``text`` with this client's API key and URL credentials replaced by ``***``."""
        return self._redact(text)

    @contextlib.asynccontextmanager
    async def _http(self) -> AsyncIterator[httpx.AsyncClient]:
        """The HTTP client for one request (called under ``self._limit``): the injected
        one, or the own pool with the most free connections."""
        if self._client is not None:
            yield self._client
            return
        if not self._shards:
            # httpcore's pool does work quadratic in its size on every request, so large
            # concurrency is spread over pools of at most _SHARD connections each, all kept
            # alive (benchmarks/bench_runtime.py measures the effect).
            n = self._max_concurrency
            self._sizes = [min(_SHARD, n - i) for i in range(0, n, _SHARD)]
            self._busy = [0] * len(self._sizes)
            self._shards = [self._pool(s) for s in self._sizes]
        # The least busy pool, not the next in turn: a request admitted by the limit then
        # always finds a free connection, so max_concurrency requests are really in flight
        # (in turn, a pool of 3 would queue a third of them while others sat idle).
        i = max(range(len(self._shards)), key=lambda k: self._sizes[k] - self._busy[k])
        self._busy[i] += 1
        try:
            yield self._shards[i]
        finally:
            self._busy[i] -= 1

    def _pool(self, size: int) -> httpx.AsyncClient:
        limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
        if not self._query:
            return httpx.AsyncClient(limits=limits)
        # The query is added by the transport; proxies from the environment are applied
        # there too, as httpx would (the client's own env handling would bypass it).
        inner = httpx.AsyncHTTPTransport(limits=limits, proxy=env_proxy(self._root))
        return httpx.AsyncClient(transport=AddQuery(inner, self._query), trust_env=False)

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self._authorization:
            headers["Authorization"] = self._authorization
        return headers

    @property
    def dialect_in_use(self) -> str:
        """The structured-output dialect the next request will use: ``dialect``, or with
        ``"auto"`` the one discovered so far (``json_schema`` until a server refuses it)."""
        if self.dialect != "auto":
            return self.dialect
        return self._learned or "json_schema"

    def _body(self, request: ModelRequest, *, stream: bool, dialect: str) -> dict[str, Any]:
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
        apply_dialect(body, request, dialect)
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return body

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        ceiling = min(self.max_backoff, self.backoff * 2 ** (state.attempt_number - 1))
        delay = self._rng.uniform(0, ceiling)
        if isinstance(exc, Retryable) and exc.retry_after is not None:
            delay = max(delay, exc.retry_after)
        return min(delay, self.max_backoff)

    def _retrying(self) -> AsyncRetrying:
        return AsyncRetrying(
            stop=stop_after_attempt(self.max_retries + 1),
            wait=self._wait,
            retry=retry_if_exception(lambda e: isinstance(e, Retryable)),
            reraise=True,
        )

    def _final_error(self, exc: Retryable, attempts: int) -> ModelHTTPError:
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

    def _failure(self, exc: httpx.HTTPError) -> Retryable:
        if isinstance(exc, httpx.TimeoutException):
            return Retryable(None, f"timed out after {self.timeout:g}s ({type(exc).__name__})")
        return Retryable(None, self._redact(f"{type(exc).__name__}: {exc}"))

    def _status_error(
        self, status: int, text: str, headers: httpx.Headers, body_sent: dict[str, Any]
    ) -> Exception:
        """The error for an HTTP error status: retryable or final, its body redacted. A
        refusal of ``response_format`` is final whatever its status (llama.cpp sends 500)."""
        body = self._redact.body(text)
        if "response_format" in body_sent and names_format(body):
            return Unsupported(status, body[:2000])
        if status in _RETRY_STATUS:
            return Retryable(status, body[:2000], retry_after(headers.get("Retry-After")))
        return ModelHTTPError(
            f"{self.url} answered HTTP {status}: {body[:300]}. "
            "This status is not retried; check the request, model name and API key.",
            status=status,
            body=body[:2000],
        )

    async def _post_once(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            async with self._limit, self._http() as http:
                response = await http.post(
                    self._target(), json=body, headers=self._headers(), timeout=self.timeout
                )
        except httpx.HTTPError as exc:
            raise self._failure(exc) from None
        if response.status_code >= 400:
            raise self._status_error(response.status_code, response.text, response.headers, body)
        text = self._redact.body(response.text)
        try:
            data = self._redact.json(response.json())
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
            raise ModelHTTPError(
                f"{self.url} answered HTTP {response.status_code} with a body that is not "
                f"JSON: {text[:200]!r}. Is base_url an OpenAI-compatible API root "
                "(ending in /v1)?",
                status=response.status_code,
                body=text[:2000],
            ) from None
        if not isinstance(data, dict):
            raise ModelHTTPError(
                f"{self.url} answered with JSON that is not an object: {str(data)[:200]}",
                status=response.status_code,
                body=text[:2000],
            )
        return data

    def _parse(self, data: dict[str, Any]) -> tuple[str, str | None]:
        try:
            choice = data["choices"][0]
            text = choice["message"].get("content") or ""
        except (KeyError, IndexError, TypeError, AttributeError):
            raise ModelHTTPError(
                f"{self.url} answered without choices[0].message: {json.dumps(data)[:300]}",
                status=200,
                body=json.dumps(data)[:2000],
            ) from None
        return str(text), self._finish_reason(choice.get("finish_reason"), data)

    def _finish_reason(self, value: Any, data: Any) -> str | None:
        """``finish_reason`` as sent, when it is a string or absent; a server that sends
        anything else is answering garbage, and says so as a ``ModelHTTPError``."""
        if value is None or isinstance(value, str):
            return value
        raise ModelHTTPError(
            f"{self.url} answered with a finish_reason that is not a string: {value!r:.100}",
            status=200,
            body=json.dumps(data)[:2000],
        )

    async def _usage(self, reported: Any, body: dict[str, Any], text: str) -> Usage:
        """The server's usage, or (when it sent none) the client's own count of the
        messages it sent and the reply, marked ``estimated``."""
        try:
            usage = server_usage(reported if isinstance(reported, dict) else None, text)
        except (TypeError, ValueError, OverflowError):
            raise ModelHTTPError(
                f"{self.url} answered with a usage that is not token counts: "
                f"{json.dumps(reported)[:300]}",
                status=200,
                body=json.dumps(reported)[:2000],
            ) from None
        if usage is not None:
            return usage
        sent = [ChatMessage.model_validate(m) for m in body["messages"]]
        return await self._counter.count(sent, text)

    def _fall_back(self, dialect: str, exc: Unsupported, attempts: int) -> str:
        """The dialect to try after ``dialect`` was refused; remembered for this client."""
        following = FALLBACK.get(dialect) if self.dialect == "auto" else None
        if following is None:
            raise ModelHTTPError(
                f"{self.url} refused structured output in the {dialect!r} dialect "
                f"(HTTP {exc.status}: {exc.body[:300]}). This is not retried. Set "
                "dialect='auto' to discover what the server accepts, or choose one: "
                "'json_object' for llama.cpp, 'prompt' for servers without response_format.",
                status=exc.status,
                body=exc.body,
                attempts=attempts,
            )
        if _ORDER.index(following) > _ORDER.index(self._learned or "json_schema"):
            self._learned = following
            log.warning(
                "%s refused response_format in the %r dialect (HTTP %s); using %r from now on",
                self.url,
                dialect,
                exc.status,
                following,
            )
        return following

    async def _post(self, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
        """POST with retries: the JSON answer and the number of attempts it took."""
        attempts = 0
        try:
            async for attempt in self._retrying():
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    data = await self._post_once(body)
        except Retryable as exc:
            raise self._final_error(exc, attempts) from None
        except (ModelHTTPError, Unsupported) as exc:
            exc.attempts = attempts
            raise
        return data, attempts

    async def complete(self, request: ModelRequest) -> ModelResponse:
        check_model_requests_allowed(type(self).__name__, self.url)
        start = time.perf_counter()
        dialect = self.dialect_in_use
        before = 0  # attempts spent on dialects the server refused
        while True:
            body = self._body(request, stream=False, dialect=dialect)
            try:
                data, attempts = await self._post(body)
                break
            except Unsupported as exc:
                before += exc.attempts
                dialect = self._fall_back(dialect, exc, before)
            except ModelHTTPError as exc:
                exc.attempts += before
                raise
        attempts += before
        try:
            text, finish = self._parse(data)
            usage = await self._usage(data.get("usage"), body, text)
        except ModelHTTPError as exc:
            exc.attempts = attempts
            raise
        return ModelResponse(
            text=text,
            model=str(data.get("model") or self.model),
            usage=usage,
            latency_ms=(time.perf_counter() - start) * 1000,
            finish_reason=finish,
            attempts=attempts,
        )

    async def stream(self, request: ModelRequest) -> AsyncIterator[TextDelta | ModelResponse]:
        """Stream over SSE.

        Failures are retried like ``complete``'s, a stream that drops part-way included.
        A retry's text is checked against what was already yielded and only the rest is
        yielded, so the consumer never sees text twice; if the retry answers differently
        (sampling without a seed), ``ModelHTTPError`` says so. A refused ``response_format``
        falls back as in ``complete`` (the refusal comes before any text)."""
        check_model_requests_allowed(type(self).__name__, self.url)
        start = time.perf_counter()
        sent: list[str] = []  # what the consumer has been given, over all attempts
        dialect = self.dialect_in_use
        before = 0
        while True:
            body = self._body(request, stream=True, dialect=dialect)
            try:
                async for item in self._stream_retrying(body, sent):
                    if isinstance(item, TextDelta):
                        yield item
                    else:
                        usage, finish, attempts = item
                break
            except Unsupported as exc:
                before += exc.attempts
                dialect = self._fall_back(dialect, exc, before)
        text = "".join(sent)
        yield ModelResponse(
            text=text,
            model=self.model,
            usage=await self._usage(usage, body, text),
            latency_ms=(time.perf_counter() - start) * 1000,
            finish_reason=finish,
            attempts=attempts + before,
        )

    async def _stream_retrying(
        self, body: dict[str, Any], sent: list[str]
    ) -> AsyncIterator[TextDelta | tuple[dict[str, Any], str | None, int]]:
        """Attempts at one stream: fresh text, then ``(usage, finish_reason, attempts)``."""
        usage: dict[str, Any] = {}
        finish: str | None = None
        attempts = 0
        try:
            async for attempt in self._retrying():
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    resume = Resume("".join(sent), attempts, self.url)
                    async for item in self._stream_once(body):
                        if isinstance(item, TextDelta):
                            fresh = resume.fresh(item.text)
                            if fresh:
                                sent.append(fresh)
                                yield TextDelta(text=fresh)
                        else:
                            usage, finish = item
        except Retryable as exc:
            raise self._final_error(exc, attempts) from None
        except Unsupported as exc:
            exc.attempts = attempts
            raise
        yield (usage, finish, attempts)

    async def _stream_once(
        self, body: dict[str, Any]
    ) -> AsyncIterator[TextDelta | tuple[dict[str, Any], str | None]]:
        """One attempt: redacted text pieces, then ``(usage, finish_reason)``.

        Raises ``Retryable`` when the stream ends before ``[DONE]`` and without a
        ``finish_reason``: the connection dropped and the text is truncated."""
        usage: dict[str, Any] = {}
        finish: str | None = None
        done = False
        redactor = self._redact.stream()
        try:
            async with (
                self._limit,
                self._http() as http,
                aconnect_sse(
                    http,
                    "POST",
                    self._target(),
                    json=body,
                    headers=self._headers(),
                    timeout=self.timeout,
                ) as source,
            ):
                status = source.response.status_code
                if status >= 400:
                    text = (await source.response.aread()).decode(errors="replace")
                    raise self._status_error(status, text, source.response.headers, body)
                async for event in source.aiter_sse():
                    if event.data.strip() == "[DONE]":
                        done = True
                        break
                    chunk = self._redact.json(json.loads(event.data))
                    usage = chunk.get("usage") or usage
                    for choice in chunk.get("choices") or []:
                        finish = self._finish_reason(choice.get("finish_reason"), chunk) or finish
                        delta = redactor.feed((choice.get("delta") or {}).get("content") or "")
                        if delta:
                            yield TextDelta(text=delta)
        except httpx.HTTPError as exc:
            raise self._failure(exc) from None
        except (json.JSONDecodeError, AttributeError, TypeError) as exc:
            raise ModelHTTPError(
                f"{self.url} sent an SSE event that is not a JSON object: {exc}",
                status=200,
                body=str(exc),
            ) from None
        if not done and finish is None:
            raise Retryable(
                None,
                "the stream ended before [DONE] and without a finish_reason; the connection "
                "dropped and the reply is truncated",
            )
        rest = redactor.flush()
        if rest:
            yield TextDelta(text=rest)
        yield (usage, finish)

    async def aclose(self) -> None:
        shards, self._shards = self._shards, []
        for shard in shards:
            await shard.aclose()

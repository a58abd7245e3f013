"""Transport helpers of ``OpenAIChatClient``: attempt outcomes, API-key checks, proxies,
query-string credentials, stream resumption and ``Retry-After``."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit
from urllib.request import getproxies, proxy_bypass

import httpx

from protocols import ModelHTTPError

__all__ = [
    "AddQuery",
    "Resume",
    "Retryable",
    "Unsupported",
    "env_proxy",
    "key_problem",
    "retry_after",
]


class Unsupported(Exception):
    """The server refused the structured-output part of the request (never retried)."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(body)
        self.status = status
        self.body = body
        self.attempts = 1


class Retryable(Exception):
    """One failed attempt that may be retried."""

    def __init__(self, status: int | None, body: str, retry_after: float | None = None) -> None:
        super().__init__(body)
        self.status = status
        self.body = body
        self.retry_after = retry_after


def key_problem(api_key: str) -> str | None:
    """What is wrong with an API key, without showing it; None when it looks usable."""
    if api_key.endswith(("\n", "\r")):
        return "api_key ends with a newline; strip it (e.g. os.environ['KEY'].strip())"
    if api_key != api_key.rstrip():
        return "api_key ends with whitespace; strip it"
    if api_key != api_key.lstrip():
        return "api_key starts with whitespace; strip it"
    if api_key.lower().startswith("bearer "):
        return "api_key starts with 'Bearer '; pass the key alone, the client adds 'Bearer '"
    for i, char in enumerate(api_key):
        if char.isspace() or not char.isprintable():
            return (
                f"api_key contains a whitespace or control character (U+{ord(char):04X}) at "
                f"position {i}; an API key is one printable token, check how it was read"
            )
        if not char.isascii():
            return (
                f"api_key contains a non-ASCII character at position {i}; HTTP headers carry "
                "ASCII only, check how the key was read"
            )
    return None


def env_proxy(url: str) -> str | None:
    """The proxy the environment (``HTTPS_PROXY``, ``NO_PROXY``…) sets for ``url``."""
    parts = urlsplit(url)
    if parts.hostname and proxy_bypass(parts.hostname):
        return None
    proxies = getproxies()
    return proxies.get(parts.scheme) or proxies.get("all")


class AddQuery(httpx.AsyncBaseTransport):
    """Adds the base URL's query (e.g. ``?api-key=…``) at the transport, below httpx's
    request log, so the log shows the URL without it."""

    def __init__(self, inner: httpx.AsyncBaseTransport, params: httpx.QueryParams) -> None:
        self._inner = inner
        self._params = params

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        sent = httpx.Request(
            request.method,
            request.url.copy_merge_params(self._params),
            headers=request.headers,
            stream=request.stream,
            extensions=request.extensions,
        )
        return await self._inner.handle_async_request(sent)

    async def aclose(self) -> None:
        await self._inner.aclose()


class Resume:
    """Splices a retried stream onto the text already yielded by earlier attempts."""

    def __init__(self, sent: str, attempt: int, url: str) -> None:
        self._sent = sent
        self._pos = 0
        self._attempt = attempt
        self._url = url

    def fresh(self, piece: str) -> str:
        """The part of ``piece`` the consumer has not seen yet."""
        overlap = self._sent[self._pos : self._pos + len(piece)]
        self._pos += len(piece)
        if not piece.startswith(overlap):
            raise ModelHTTPError(
                f"{self._url} dropped a stream after {len(self._sent)} characters, and "
                f"attempt {self._attempt} answered differently, so the reply cannot be "
                "resumed; set a seed and temperature 0, or use complete() instead of stream()",
                status=None,
                body="",
                attempts=self._attempt,
            )
        return piece[len(overlap) :]


def retry_after(value: str | None) -> float | None:
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

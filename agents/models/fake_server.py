"""A real, scriptable OpenAI-compatible HTTP server on loopback, for tests and benchmarks.

It speaks ``POST /v1/chat/completions`` (JSON and SSE streaming) and ``GET /v1/models``
over real sockets, so the client's protocol handling (status codes, headers, SSE framing,
timeouts) is exercised for real. Script the next replies with ``enqueue``; when the script
is empty, ``default`` answers::

    with FakeOpenAIServer() as server:
        server.enqueue(Scripted(status=429, headers={"Retry-After": "0.1"}))
        server.enqueue(Scripted(text="hello"))
        client = OpenAIChatClient(server.base_url, "fake")
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

__all__ = ["FakeOpenAIServer", "ReceivedRequest", "Scripted"]


@dataclass(frozen=True)
class Scripted:
    """One scripted reply.

    Attributes:
        text: The assistant message (JSON reply or streamed as SSE word by word).
        status: HTTP status; non-2xx replies send ``raw`` or a JSON error body.
        headers: Extra response headers, e.g. ``{"Retry-After": "1"}``.
        delay: Seconds to wait before answering (to exceed a client's timeout).
        raw: Send this body verbatim instead of a JSON completion (e.g. not JSON at all).
        drop_after: When streaming, send only this many SSE events, then close the
            connection without ``[DONE]`` (a connection that drops mid-reply).
    """

    text: str = "ok"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    raw: str | None = None
    drop_after: int | None = None


@dataclass(frozen=True)
class ReceivedRequest:
    """A request the server received: path, headers and the parsed JSON body."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]


def _completion(text: str, model: str, prompt_tokens: int) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": len(text.split()),
            "total_tokens": prompt_tokens + len(text.split()),
        },
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log."""

    def _send(self, status: int, body: bytes, headers: dict[str, str], ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if urlsplit(self.path).path.rstrip("/").endswith("/models"):
            body = {
                "object": "list",
                "data": [{"id": m, "object": "model"} for m in self.server.models],
            }
            self._send(200, json.dumps(body).encode(), {}, "application/json")
        else:
            self._send(404, b'{"error": "not found"}', {}, "application/json")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        raw_body = self.rfile.read(length)
        try:
            body = json.loads(raw_body or b"{}")
        except json.JSONDecodeError:
            body = {"_unparsed": raw_body.decode(errors="replace")}
        owner = self.server.owner
        owner.record(ReceivedRequest(self.path, dict(self.headers.items()), body))
        if not urlsplit(self.path).path.rstrip("/").endswith("/chat/completions"):
            self._send(404, b'{"error": "not found"}', {}, "application/json")
            return
        reply = owner.next_reply(body)
        if reply.delay:
            time.sleep(reply.delay)
        if reply.raw is not None or reply.status >= 400:
            raw = (
                reply.raw
                if reply.raw is not None
                else json.dumps({"error": {"message": "scripted"}})
            )
            self._send(reply.status, raw.encode(), reply.headers, "application/json")
            return
        model = str(body.get("model", "fake"))
        prompt_tokens = sum(
            len(str(m.get("content", "")).split()) for m in body.get("messages", [])
        )
        if body.get("stream"):
            self._stream(reply, model, prompt_tokens)
        else:
            payload = json.dumps(_completion(reply.text, model, prompt_tokens)).encode()
            self._send(reply.status, payload, reply.headers, "application/json")

    def _stream(self, reply: Scripted, model: str, prompt_tokens: int) -> None:
        words = reply.text.split(" ")
        events: list[dict[str, Any]] = []
        for i, word in enumerate(words):
            delta = {"content": word if i == 0 else " " + word}
            events.append(
                {"model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
            )
        events.append(
            {"model": model, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        )
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": len(reply.text.split())}
        events.append({"model": model, "choices": [], "usage": usage})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        for event in events[: reply.drop_after]:
            self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
            self.wfile.flush()
        if reply.drop_after is None:
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the default backlog of 5 drops connects under load
    owner: FakeOpenAIServer
    models: list[str]


class FakeOpenAIServer:
    """An OpenAI-compatible server on ``127.0.0.1`` in a background thread.

    Args:
        default: Answers requests when the script is empty; gets the JSON body.
        models: Model ids listed by ``GET /v1/models``.
    """

    def __init__(
        self,
        default: Callable[[dict[str, Any]], Scripted] | None = None,
        *,
        models: tuple[str, ...] = ("fake",),
    ) -> None:
        self._default = default or (lambda body: Scripted(text="ok"))
        self._models = list(models)
        self._script: deque[Scripted] = deque()
        self._lock = threading.Lock()
        self.requests: list[ReceivedRequest] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeOpenAIServer is not started; use it as a context manager")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def enqueue(self, *replies: Scripted) -> None:
        with self._lock:
            self._script.extend(replies)

    def record(self, request: ReceivedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def next_reply(self, body: dict[str, Any]) -> Scripted:
        with self._lock:
            if self._script:
                return self._script.popleft()
        return self._default(body)

    def start(self) -> FakeOpenAIServer:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.owner = self
        server.models = self._models
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, name="fake-openai", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    """Serve until killed; ``python -c "from agents.models.fake_server import main; main()"
    --delay 0.2``. Prints the
    base URL on its first line, so a benchmark can run the server in its own process."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(description="A loopback OpenAI-compatible test server.")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each reply")
    parser.add_argument("--text", default="ok", help="the reply text")
    args = parser.parse_args(argv)
    server = FakeOpenAIServer(lambda body: Scripted(text=args.text, delay=args.delay)).start()
    sys.stdout.write(server.base_url + "\n")
    sys.stdout.flush()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()

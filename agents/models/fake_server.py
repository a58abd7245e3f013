"""A real, scriptable OpenAI-compatible HTTP server on loopback, for tests and benchmarks.

It speaks ``POST /v1/chat/completions`` (JSON and SSE streaming) and ``GET /v1/models``
over real sockets, so the client's protocol handling (status codes, headers, SSE framing,
timeouts) is exercised for real. Script the next replies with ``enqueue``; when the script
is empty, ``default`` answers::

    with FakeOpenAIServer() as server:
        server.enqueue(Scripted(status=429, headers={"Retry-After": "0.1"}))
        server.enqueue(Scripted(text="hello"))
        client = OpenAIChatClient(server.base_url, "fake")

``mode`` reproduces how a real server treats structured output and usage (see
``MODES``): which ``response_format`` it refuses and with what error body, which schema
it would enforce (``ReceivedRequest.enforced_schema``), and whether a stream ends with a
usage chunk. The replies themselves are always what the script says.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import urlsplit

__all__ = ["MODES", "FakeOpenAIServer", "ReceivedRequest", "Scripted", "ServerMode"]

Mode = Literal["openai", "vllm", "llamacpp", "ollama", "transformers"]

# llama.cpp's answer to ``response_format: {"type": "json_schema", ...}`` as the issue
# recorded it (llama-cpp-python 0.3.36 serving Gemma 3 270M): HTTP 500.
LLAMACPP_JSON_SCHEMA_ERROR = json.dumps(
    {
        "error": {
            "code": 500,
            "message": '"response_format" must be one of "text" or "json_object"',
            "type": "server_error",
        }
    }
)


@dataclass(frozen=True)
class ServerMode:
    """How one server treats ``response_format`` and streamed usage.

    Attributes:
        refuse: ``response_format`` types answered with ``error`` instead of a reply.
        error: ``(status, body)`` of that refusal.
        schema_from: Per accepted type, where the enforced schema is read from
            (``"json_schema"``: ``json_schema.schema``; ``"schema"``: ``schema``;
            ``None``: nothing is enforced, only "some JSON").
        ignores_format: The server ignores ``response_format`` altogether.
        stream_usage: ``"asked"`` sends a usage chunk when ``stream_options.include_usage``
            is true, ``"always"`` always, ``"never"`` never.
    """

    refuse: frozenset[str] = frozenset()
    error: tuple[int, str] = (400, "")
    schema_from: dict[str, str | None] = field(default_factory=dict)
    ignores_format: bool = False
    stream_usage: Literal["asked", "always", "never"] = "asked"

    def enforced_schema(self, body: dict[str, Any]) -> dict[str, Any] | None:
        """The JSON schema this server would constrain the reply to, if any."""
        fmt = body.get("response_format")
        if self.ignores_format or not isinstance(fmt, dict):
            return None
        where = self.schema_from.get(str(fmt.get("type")))
        if where == "json_schema":
            schema = (fmt.get("json_schema") or {}).get("schema")
        elif where == "schema":
            schema = fmt.get("schema")
        else:
            schema = None
        return schema if isinstance(schema, dict) else None


# Sources, read for these modes:
# - vLLM (openai/protocol.py): json_schema -> structured outputs with the schema;
#   json_object -> any JSON object. Usage in a stream only with include_usage.
# - llama.cpp: the version the issue ran refused json_schema with the body above;
#   json_object's ``schema`` becomes a grammar (tools/server utils.hpp,
#   ``oaicompat_chat_params_parse``). Its SSE streams carried no usage chunk.
# - Ollama (openai/openai.go ``FromChatRequest``): json_schema -> ``format`` = the schema;
#   json_object -> ``format: "json"`` (schema ignored); other types ignored.
#   middleware/openai.go sends a usage chunk only when include_usage is true.
# - transformers serve 5.x (cli/serving/chat_completion.py): response_format is in
#   ``UNUSED_CHAT_COMPLETION_FIELDS``, logged and ignored; the last SSE chunk always
#   carries usage.
MODES: dict[str, ServerMode] = {
    "openai": ServerMode(
        schema_from={"json_schema": "json_schema", "json_object": None}, stream_usage="always"
    ),
    "vllm": ServerMode(schema_from={"json_schema": "json_schema", "json_object": None}),
    "llamacpp": ServerMode(
        refuse=frozenset({"json_schema"}),
        error=(500, LLAMACPP_JSON_SCHEMA_ERROR),
        schema_from={"json_object": "schema"},
        stream_usage="never",
    ),
    "ollama": ServerMode(schema_from={"json_schema": "json_schema", "json_object": None}),
    "transformers": ServerMode(ignores_format=True, stream_usage="always"),
}


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
    """A request the server received: path, headers, the parsed JSON body, and the schema
    the server's mode would have enforced on the reply (None when none)."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    enforced_schema: dict[str, Any] | None = None


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
        mode = owner.server_mode
        owner.record(
            ReceivedRequest(self.path, dict(self.headers.items()), body, mode.enforced_schema(body))
        )
        if not urlsplit(self.path).path.rstrip("/").endswith("/chat/completions"):
            self._send(404, b'{"error": "not found"}', {}, "application/json")
            return
        fmt = body.get("response_format")
        if isinstance(fmt, dict) and fmt.get("type") in mode.refuse:
            status, error = mode.error
            self._send(status, error.encode(), {}, "application/json")
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
            asked = bool((body.get("stream_options") or {}).get("include_usage"))
            usage = {"always": True, "asked": asked, "never": False}[mode.stream_usage]
            self._stream(reply, model, prompt_tokens, usage=usage)
        else:
            payload = json.dumps(_completion(reply.text, model, prompt_tokens)).encode()
            self._send(reply.status, payload, reply.headers, "application/json")

    def _stream(self, reply: Scripted, model: str, prompt_tokens: int, *, usage: bool) -> None:
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
        if usage:
            counts = {"prompt_tokens": prompt_tokens, "completion_tokens": len(reply.text.split())}
            events.append({"model": model, "choices": [], "usage": counts})
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
        mode: Which server's structured-output and usage behaviour to reproduce: one of
            ``MODES`` (``"openai"``, ``"vllm"``, ``"llamacpp"``, ``"ollama"``,
            ``"transformers"``).
    """

    def __init__(
        self,
        default: Callable[[dict[str, Any]], Scripted] | None = None,
        *,
        models: tuple[str, ...] = ("fake",),
        mode: Mode = "openai",
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        self.mode = mode
        self.server_mode = MODES[mode]
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

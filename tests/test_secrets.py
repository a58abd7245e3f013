"""Secrets never reach the store, the cache, the logs or the terminal.

The adversarial server here is a real HTTP server on loopback that echoes what it
received (the request line with its query, and every header, ``Authorization``
included) into its replies: a 200's content and model name, a 400's and a 500's error
bodies, a stream whose pieces split the key, and a JSON body that hides the key in
``\\u`` escapes. Runs go through a real ``Runtime`` with a SQLite store and a
``CachedModel`` file; afterwards no byte of any file, log record or captured output
holds the key.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from agents import AgentGraph, Budget, FunctionAgent, RunContext, Runtime, SqlRunStore
from agents.cli import main
from agents.meta.experts import ExpertRegistry, load_experts
from agents.models import CachedModel, ModelRequest, OpenAIChatClient
from knowledge_graph import SqlGraphStore
from protocols import Envelope, Error, Message, Question, Stop, StoreError, UserError
from protocols.secrets import MASK, Redactor, basic_token, mask_db_url, mask_url
from tests.conftest import _postgres_database

KEY = "sk-adv-S3CRET-key-0042"
BASIC = basic_token("lyceum", KEY)  # what `user:KEY@host` becomes on the wire


# -- the adversarial server ---------------------------------------------------------------
@dataclass(frozen=True)
class Seen:
    """What the server received: the request line and the headers, as it echoes them."""

    line: str
    headers: dict[str, str]

    @property
    def echo(self) -> str:
        return self.line + " | " + " | ".join(f"{k}: {v}" for k, v in self.headers.items())


class _EchoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _EchoServer

    def log_message(self, format: str, *args: Any) -> None:
        """Silent."""

    def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        seen = Seen(f"{self.command} {self.path}", dict(self.headers.items()))
        with self.server.lock:
            self.server.seen.append(seen)
            mode = self.server.modes.popleft()
        echo = seen.echo
        if mode == "ok":
            reply = {
                "model": echo,
                "choices": [{"message": {"content": f"you sent: {echo}"}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1},
            }
            self._send(200, json.dumps(reply).encode())
        elif mode == "400":
            self._send(400, json.dumps({"error": {"message": f"bad request: {echo}"}}).encode())
        elif mode == "500":
            self._send(500, f"upstream failed: {echo}".encode(), "text/plain")
        elif mode == "escaped":  # every character of the echo as a JSON \\u escape
            hidden = "".join(f"\\u{ord(c):04x}" for c in echo)
            self._send(400, f'{{"error": "{hidden}"}}'.encode())
        else:  # "stream": the echo in 5-character pieces, so the key is split
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            text = f"you sent: {echo}"
            for i in range(0, len(text), 5):
                delta = {"choices": [{"delta": {"content": text[i : i + 5]}}]}
                self.wfile.write(f"data: {json.dumps(delta)}\n\n".encode())
            done = {"choices": [{"delta": {}, "finish_reason": "stop"}]}
            self.wfile.write(f"data: {json.dumps(done)}\n\ndata: [DONE]\n\n".encode())
            self.wfile.flush()
            self.close_connection = True


class _EchoServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _EchoHandler)
        self.lock = threading.Lock()
        self.modes: deque[str] = deque()
        self.seen: list[Seen] = []

    @property
    def root(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def echo_server() -> Iterator[_EchoServer]:
    srv = _EchoServer()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


def asker(cached: CachedModel, client: OpenAIChatClient) -> AgentGraph:
    """One agent: the question's text picks the server's reply; the reply ends the run."""

    async def ask(message: Message, ctx: RunContext) -> Envelope:
        assert isinstance(message, Question)
        request = ModelRequest.of(message.text)
        if message.text == "stream":
            return Stop(detail="".join([p async for p in ctx.stream(client, request)]))
        return Stop(detail=(await ctx.complete(cached, request)).text)

    return AgentGraph().add(FunctionAgent("asker", ask))


CREDENTIALS = {
    # where the key goes: (base_url, api_key, what the server must receive)
    "header": ("http://{root}/v1", KEY, lambda s: s.headers["Authorization"] == f"Bearer {KEY}"),
    "userinfo": (
        "http://lyceum:" + KEY + "@{root}/v1",
        None,
        lambda s: s.headers["Authorization"] == f"Basic {BASIC}",
    ),
    "query": (
        "http://{root}/v1?api-key=" + KEY,
        None,
        lambda s: s.line.endswith(f"/v1/chat/completions?api-key={KEY}"),
    ),
}
SHOWN = {
    "header": "http://{root}/v1",
    "userinfo": "http://lyceum:***@{root}/v1",
    "query": "http://{root}/v1?api-key=***",
}


def expected(text: str) -> str:
    """What lyceum may keep of a text the server sent: the credentials masked."""
    return text.replace(BASIC, MASK).replace(KEY, MASK)


@pytest.mark.allow_model_requests
@pytest.mark.parametrize("where", sorted(CREDENTIALS))
async def test_a_server_echoing_credentials_gets_none_stored_cached_or_logged(
    where: str,
    echo_server: _EchoServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    template, api_key, received = CREDENTIALS[where]
    base_url = template.format(root=echo_server.root)
    client = OpenAIChatClient(
        base_url, "m", api_key=api_key, max_retries=1, backoff=0.01, timeout=5, seed=1
    )
    shown = SHOWN[where].format(root=echo_server.root)
    assert (client.base_url, repr(client)) == (
        shown,
        f"OpenAIChatClient(base_url={shown!r}, model='m')",
    )
    cached = CachedModel(client, tmp_path / "cache.sqlite")
    store = SqlRunStore(f"sqlite:///{tmp_path / 'runs.db'}")
    runtime = Runtime(store)
    echo_server.modes.extend(["ok", "400", "500", "500", "escaped", "stream"])
    results = {}
    for mode in ("ok", "400", "500", "escaped", "stream"):
        results[mode] = await runtime.run(
            asker(cached, client), Question(to="asker", text=mode), budget=Budget(seconds=30)
        )
    calls = {mode: store.model_calls(r.run_id) for mode, r in results.items()}
    store.close()
    await cached.aclose()

    # The server did receive the credential, every time: the test is not vacuous.
    assert len(echo_server.seen) == 6 and all(received(s) for s in echo_server.seen)
    ok, bad, _, failed, escaped, streamed = echo_server.seen  # the 500 is retried once
    # Replies reach the agents with the credentials masked, nothing else changed.
    assert results["ok"].detail == expected(f"you sent: {ok.echo}")
    assert results["stream"].detail == expected(f"you sent: {streamed.echo}")
    assert calls["ok"][0].response is not None
    assert calls["ok"][0].response["model"] == expected(ok.echo)
    # Failures are typed errors whose texts are masked too.
    endpoint = shown.replace("/v1", "/v1/chat/completions")
    for mode, status, body in (
        ("400", 400, json.dumps({"error": {"message": f"bad request: {expected(bad.echo)}"}})),
        ("500", 500, f"upstream failed: {expected(failed.echo)}"),
        ("escaped", 400, json.dumps({"error": expected(escaped.echo)}, ensure_ascii=False)),
    ):
        result = results[mode]
        error = result.messages[-2]
        assert (result.reason, type(error)) == ("error", Error)
        assert isinstance(error, Error) and error.error_type == "ModelHTTPError"
        retried = " after 2 attempt(s). Check the server's logs" if status == 500 else ". This"
        assert error.detail.startswith(f"{endpoint} answered HTTP {status}: {body[:300]}"), (
            error.detail
        )
        assert retried in error.detail
    assert [c.client for c in calls["ok"]] == [f"CachedModel(OpenAIChatClient(m @ {shown}))"]
    assert [c.client for c in calls["stream"]] == [f"OpenAIChatClient(m @ {shown})"]

    # Not one byte of the key, or of the Basic token that carries it, anywhere.
    files = sorted(p.name for p in tmp_path.iterdir())
    assert {"runs.db", "cache.sqlite"} <= set(files)
    out, err = capfd.readouterr()
    for secret in (KEY, BASIC):
        for path in tmp_path.iterdir():  # runs.db, its -wal and -shm if left, the cache
            assert secret.encode() not in path.read_bytes(), (secret, path.name)
        assert secret not in caplog.text
        assert secret not in out + err
    assert "HTTP Request: POST" in caplog.text  # httpx did log each request (masked)


# -- keys refused at construction ---------------------------------------------------------
@pytest.mark.parametrize(
    ("key", "problem"),
    [
        (KEY + "\n", "api_key ends with a newline; strip it (e.g. os.environ['KEY'].strip())"),
        (KEY + "\r\n", "api_key ends with a newline; strip it (e.g. os.environ['KEY'].strip())"),
        (KEY + " ", "api_key ends with whitespace; strip it"),
        ("\t" + KEY, "api_key starts with whitespace; strip it"),
        (
            "Bearer " + KEY,
            "api_key starts with 'Bearer '; pass the key alone, the client adds 'Bearer '",
        ),
        (
            "sk-adv S3CRET",
            "api_key contains a whitespace or control character (U+0020) at position 6; an "
            "API key is one printable token, check how it was read",
        ),
        (
            "sk-adv\x00S3CRET",
            "api_key contains a whitespace or control character (U+0000) at position 6; an "
            "API key is one printable token, check how it was read",
        ),
        (
            "sk-adv-S3CRÉT",
            "api_key contains a non-ASCII character at position 11; HTTP headers carry ASCII "
            "only, check how the key was read",
        ),
    ],
)
def test_keys_with_whitespace_or_control_characters_are_refused_without_being_shown(
    key: str, problem: str
) -> None:
    with pytest.raises(UserError) as info:
        OpenAIChatClient("http://localhost:8000/v1", "m", api_key=key)
    assert str(info.value) == problem


def test_an_expert_key_from_the_environment_is_checked_and_named(tmp_path: Path) -> None:
    path = tmp_path / "experts.yaml"
    path.write_text(
        "experts:\n"
        "  - name: tutor\n"
        "    skills: [fractions]\n"
        "    backend: {kind: openai, base_url: 'http://localhost:8000/v1', model: m,"
        " api_key_env: TUTOR_KEY}\n"
    )
    registry: ExpertRegistry = load_experts(path)
    with pytest.raises(UserError) as info:
        registry.client("tutor", api_keys={"TUTOR_KEY": KEY + "\n"})
    assert str(info.value) == (
        "expert 'tutor' (key from $TUTOR_KEY): api_key ends with a newline; strip it "
        "(e.g. os.environ['KEY'].strip())"
    )
    client = registry.client("tutor", api_keys={"TUTOR_KEY": KEY})
    assert isinstance(client, OpenAIChatClient)


def test_a_key_given_twice_is_refused() -> None:
    with pytest.raises(UserError) as info:
        OpenAIChatClient(f"http://u:{KEY}@localhost:8000/v1", "m", api_key=KEY)
    assert str(info.value) == (
        "base_url 'http://u:***@localhost:8000/v1' carries credentials and api_key is given "
        "too; give the key one way only (api_key= is the usual one)"
    )


def test_a_base_url_without_a_scheme_is_refused_without_showing_its_credentials() -> None:
    with pytest.raises(UserError) as info:
        OpenAIChatClient(f"lyceum:{KEY}@localhost:8000/v1?api-key={KEY}", "m")
    assert str(info.value) == (
        "base_url must start with http:// or https://, got "
        "'lyceum:***@localhost:8000/v1?api-key=***' (for example 'http://localhost:8000/v1')"
    )


def test_experts_list_masks_credentials_in_base_urls(tmp_path: Path) -> None:
    path = tmp_path / "experts.yaml"
    path.write_text(
        "experts:\n"
        "  - name: tutor\n"
        "    skills: [fractions]\n"
        f"    backend: {{kind: openai, base_url: 'https://u:{KEY}@h.example/v1?key={KEY}',"
        " model: m}\n"
    )
    result = CliRunner().invoke(main, ["experts", "list", "--file", str(path)])
    assert result.exit_code == 0, result.output
    assert KEY not in result.output and "u:***@h.example/v1?key=***" in result.output


# -- masking and redaction ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://localhost:8000/v1", "http://localhost:8000/v1"),
        (f"https://user:{KEY}@api.example.com/v1", "https://user:***@api.example.com/v1"),
        (f"https://{KEY}@api.example.com/v1", "https://***@api.example.com/v1"),
        (
            f"https://api.example.com/v1?api-key={KEY}&api-version=2024",
            "https://api.example.com/v1?api-key=***&api-version=***",
        ),
        (f"https://h/v1?token={KEY}#frag", "https://h/v1?token=***#frag"),
    ],
)
def test_mask_url(url: str, shown: str) -> None:
    assert mask_url(url) == shown


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("sqlite:///lyceum.db", "sqlite:///lyceum.db"),
        (
            f"postgresql+psycopg://lyceum:{KEY}@db.example:5432/runs",
            "postgresql+psycopg://lyceum:***@db.example:5432/runs",
        ),
        (
            f"postgresql://lyceum@db.example/runs?password={KEY}&sslmode=require",
            "postgresql://lyceum@db.example/runs?password=***&sslmode=***",
        ),
        (f"postgresql://u:{KEY}@h:notaport/db", "postgresql://u:***@h:notaport/db"),
    ],
)
def test_mask_db_url(url: str, shown: str) -> None:
    assert mask_db_url(url) == shown


def test_the_redactor_catches_escaped_encoded_and_split_secrets() -> None:
    secret = 'sk-"quoted"/key'
    redact = Redactor([secret, None, "", "x"])  # empty and 1-character secrets are ignored
    assert redact(f"raw {secret}; json {json.dumps(secret)}; repr {secret.encode()!r}") == (
        "raw ***; json \"***\"; repr b'***'"
    )
    assert redact("sk-%22quoted%22%2Fkey and x") == "*** and x"
    stream = redact.stream()
    assert stream.feed("text that starts no secret ") == "text that starts no secret "
    pieces = [stream.feed(p) for p in ("Bearer sk-", '"quo', 'ted"/k', "ey, done")]
    pieces.append(stream.flush())
    assert "".join(pieces) == "Bearer ***, done"
    assert all(secret[:4] not in p for p in pieces)


# -- database passwords on the command line -----------------------------------------------
DB_PASSWORD = "PW-s3cret-0042"


@pytest.mark.parametrize(
    "command",
    [["kg", "stats"], ["kg", "build", "curriculum"], ["runs", "list"], ["runs", "show", "x"]],
    ids=" ".join,
)
@pytest.mark.parametrize("where", ["userinfo", "query"])
def test_a_database_password_is_never_printed(command: list[str], where: str) -> None:
    # Nothing listens on port 1: the command fails, and its error names the database.
    url = (
        f"postgresql+psycopg://lyceum:{DB_PASSWORD}@127.0.0.1:1/lyceum"
        if where == "userinfo"
        else f"postgresql+psycopg://lyceum@127.0.0.1:1/lyceum?password={DB_PASSWORD}"
    )
    result = CliRunner().invoke(main, [*command, "--db", url])
    assert result.exit_code == 2, result.output
    shown = mask_db_url(url)
    assert shown in result.output and DB_PASSWORD not in result.output


@pytest.fixture
def postgres_url() -> Iterator[str]:
    yield from _postgres_database()


@pytest.mark.postgres
def test_kg_build_and_stats_on_postgresql_print_no_password(postgres_url: str) -> None:
    # The test cluster trusts loopback, so any password is accepted (and never checked).
    url = postgres_url.replace("://postgres@", f"://postgres:{DB_PASSWORD}@")
    assert DB_PASSWORD in url
    runner = CliRunner()
    built = runner.invoke(main, ["kg", "build", "curriculum", "--db", url])
    stats = runner.invoke(main, ["kg", "stats", "--db", url])
    for result in (built, stats):
        assert result.exit_code == 0, result.output
        assert DB_PASSWORD not in result.output and mask_db_url(url) in result.output
    assert repr(SqlGraphStore(url)) == f"SqlGraphStore({mask_db_url(url)!r})"


def test_store_reprs_and_errors_mask_passwords() -> None:
    url = f"postgresql+psycopg://lyceum:{DB_PASSWORD}@127.0.0.1:1/lyceum"
    assert repr(SqlRunStore(url)) == f"SqlRunStore({mask_db_url(url)!r})"
    assert repr(SqlGraphStore(url)) == f"SqlGraphStore({mask_db_url(url)!r})"
    with pytest.raises(StoreError) as info:
        SqlGraphStore(url).stats()
    assert DB_PASSWORD not in str(info.value)
    assert str(info.value).startswith(f"cannot open the graph store {mask_db_url(url)}: ")
    with pytest.raises(UserError) as bad:
        SqlRunStore(f"postgresql+psycopg://lyceum:{DB_PASSWORD}@host:notaport/db")
    assert DB_PASSWORD not in str(bad.value)


@pytest.mark.allow_model_requests
async def test_a_transport_error_that_quotes_the_key_is_redacted(tmp_path: Path) -> None:
    # h11 quotes a header it refuses ("Illegal header value b'Bearer sk-…'"); a key that h11
    # would refuse is now refused by the client, but any lower layer's text is redacted.
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.LocalProtocolError(
            f"Illegal header value {request.headers['Authorization'].encode()!r}"
        )

    http = httpx.AsyncClient(transport=httpx.MockTransport(refuse))
    client = OpenAIChatClient(
        "http://model.invalid/v1", "m", api_key=KEY, http_client=http, max_retries=0
    )
    store = SqlRunStore(f"sqlite:///{tmp_path / 'runs.db'}")
    result = await Runtime(store).run(
        asker(CachedModel(client, tmp_path / "cache.sqlite"), client),
        Question(to="asker", text="hi"),
    )
    (call,) = store.model_calls(result.run_id)
    store.close()
    await http.aclose()
    assert call.error == (
        "ModelHTTPError: http://model.invalid/v1/chat/completions could not get a response "
        "(LocalProtocolError: Illegal header value b'Bearer ***') after 1 attempt(s). Is the "
        "server running and reachable? Check base_url and timeout."
    )
    assert result.detail == f"agent 'asker' failed: {call.error}"
    for path in tmp_path.iterdir():
        assert KEY.encode() not in path.read_bytes(), path.name

"""The backends the conformance suite runs on, and what each is expected to do.

- ``serve-*``: a real ``transformers serve`` process (``tests/servers.py``) on the tiny
  random Llama (fast) or on Gemma 3 270M (slow), reached with ``OpenAIChatClient``.
- ``fake-*``: ``FakeOpenAIServer(mode=...)`` reproducing vLLM, llama.cpp, Ollama and
  ``transformers serve`` at the HTTP level (their structured-output dialects and error
  bodies). The model behind it answers a schema the mode enforces with the simplest
  instance of that schema, as constrained decoding would, and prose otherwise: it never
  reads the prompt.
- ``inprocess-*``: ``TransformersClient`` on the same model folders.

Each ``Backend`` names how structured output behaves on it (``structured``): ``valid``
when the server or client constrains decoding to the schema, ``invalid`` when nothing
does and the model cannot write the JSON (the tiny model's word-level vocabulary cannot
even spell ``{``), ``model`` when it is up to the model (Gemma, prompted with the schema).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
from httpx_sse import EventSource

from agents.models import ModelClient, OpenAIChatClient, TransformersClient
from agents.models.fake_server import FakeOpenAIServer, Scripted

from ..servers import TransformersServe, serve_available
from ..tiny_models import (
    GEMMA_CHAT_TEMPLATE,
    GEMMA_END_OF_TURN,
    TINY_CHAT_TEMPLATE,
    build_tiny_llama,
    gemma_folder,
    tiny_chat_model,
    with_chat_template,
)

__all__ = [
    "BACKENDS",
    "Backend",
    "Backends",
    "Live",
    "NotYet",
    "UsageTap",
    "simplest_instance",
]

Structured = Literal["valid", "invalid", "model"]
PROSE = "I think the student should add the fractions."
"""What the fake servers' model says when no schema constrains it."""


class NotYet(Exception):
    """A backend cannot run here (the reason says what is missing)."""


@dataclass(frozen=True)
class Backend:
    """One backend of the suite.

    Attributes:
        kind: ``serve``, ``fake`` or ``inprocess``.
        model: ``tiny`` or ``gemma``.
        mode: The ``FakeOpenAIServer`` mode (fakes only).
        dialect: The ``OpenAIChatClient`` dialect to configure.
        structured: How structured output behaves (see the module docs).
        usage_in_stream: Whether the server reports usage in SSE.
        streams: Whether the client streams (``TransformersClient`` does not).
        slow: Runs in the slow tier.
    """

    kind: Literal["serve", "fake", "inprocess"]
    model: Literal["tiny", "gemma"] = "tiny"
    mode: str | None = None
    dialect: str = "auto"
    structured: Structured = "invalid"
    usage_in_stream: bool = True
    streams: bool = True
    slow: bool = False


BACKENDS: dict[str, Backend] = {
    # transformers serve ignores response_format (it logs "Ignoring unsupported fields"),
    # so the schema must travel in the prompt.
    "serve-tiny": Backend("serve", dialect="prompt"),
    "serve-gemma": Backend("serve", "gemma", dialect="prompt", structured="model", slow=True),
    "fake-vllm": Backend("fake", mode="vllm", structured="valid"),
    "fake-llamacpp": Backend("fake", mode="llamacpp", structured="valid", usage_in_stream=False),
    "fake-ollama": Backend("fake", mode="ollama", structured="valid"),
    "fake-transformers": Backend("fake", mode="transformers", dialect="prompt"),
    "inprocess-tiny": Backend("inprocess", streams=False),
    "inprocess-gemma": Backend("inprocess", "gemma", structured="valid", streams=False, slow=True),
}


# -- the model behind the fake servers -------------------------------------------------
def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def simplest_instance(schema: dict[str, Any], root: dict[str, Any] | None = None) -> Any:
    """The simplest value of a pydantic JSON schema: required fields only, the first
    alternative, enum member or const, the lower bound of a number, one-letter strings."""
    root = root if root is not None else schema
    schema = _resolve(schema, root)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return simplest_instance(schema[key][0], root)
    kind = schema.get("type", "object")
    if kind == "object":
        properties = schema.get("properties", {})
        return {k: simplest_instance(properties[k], root) for k in schema.get("required", [])}
    if kind == "array":
        return [simplest_instance(schema.get("items", {}), root)] * schema.get("minItems", 0)
    if kind in ("number", "integer"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        return low + (1 if "exclusiveMinimum" in schema else 0)
    simple = {"string": "x" * max(1, schema.get("minLength", 1)), "boolean": False, "null": None}
    return simple[kind]


def _enforced_schema(mode: str, body: dict[str, Any]) -> dict[str, Any] | None:
    """The schema a server in ``mode`` would constrain decoding to, if any."""
    response_format = body.get("response_format") or {}
    kind = response_format.get("type")
    if mode in ("vllm", "ollama", "openai") and kind == "json_schema":
        schema: dict[str, Any] = response_format["json_schema"]["schema"]
        return schema
    if mode == "llamacpp" and kind == "json_object" and "schema" in response_format:
        schema = response_format["schema"]
        return schema
    return None


def fake_model(mode: str) -> Callable[[dict[str, Any]], Scripted]:
    """A deterministic model for ``FakeOpenAIServer(mode=mode)``; it reads typed request
    fields only, never the prompt."""

    def reply(body: dict[str, Any]) -> Scripted:
        schema = _enforced_schema(mode, body)
        if schema is None:
            return Scripted(text=PROSE)
        return Scripted(text=json.dumps(simplest_instance(schema)))

    return reply


# -- what the server itself reported ---------------------------------------------------
@dataclass
class UsageTap:
    """An ``httpx`` response hook that keeps the usage each chat completion reported
    (None for a 2xx reply without one), so recorded tokens can be compared with it."""

    reported: list[int | None] = field(default_factory=list)

    async def __call__(self, response: httpx.Response) -> None:
        if not response.url.path.endswith("/chat/completions") or response.status_code >= 400:
            return
        await response.aread()
        usage: dict[str, Any] | None = None
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            async for event in EventSource(response).aiter_sse():
                if event.data.strip() != "[DONE]":
                    usage = json.loads(event.data).get("usage") or usage
        else:
            usage = response.json().get("usage")
        total = (usage or {}).get("prompt_tokens", 0) + (usage or {}).get("completion_tokens", 0)
        self.reported.append(total if usage else None)

    def total(self) -> int | None:
        """The tokens the server reported over all replies; None if one reported none."""
        if not self.reported or None in self.reported:
            return None
        return sum(n for n in self.reported if n is not None)


@dataclass
class Live:
    """A backend ready for one path: its client, and the usage tap of an HTTP backend."""

    name: str
    backend: Backend
    client: ModelClient
    tap: UsageTap | None
    http: httpx.AsyncClient | None = None
    fake: FakeOpenAIServer | None = None

    async def aclose(self) -> None:
        await self.client.aclose()
        if self.http is not None:
            await self.http.aclose()
        if self.fake is not None:
            self.fake.stop()


def openai_client(
    base_url: str, model: str, backend: Backend, tokenizer: Path | None, http: httpx.AsyncClient
) -> OpenAIChatClient:
    """An ``OpenAIChatClient`` with the backend's dialect and the local tokenizer."""
    return OpenAIChatClient(
        base_url,
        model,
        http_client=http,
        max_retries=1,
        backoff=0.05,
        timeout=300,
        dialect=backend.dialect,  # type: ignore[arg-type]
        tokenizer=tokenizer,
    )


class Backends:
    """Opens backends on demand and keeps what is costly to start (servers, model
    folders) until ``close``.

    Args:
        workdir: Where model folders are written.
        skip: Called with a reason when a backend cannot run here (``require`` in tests).
    """

    def __init__(self, workdir: Path, skip: Callable[[bool, str], None]) -> None:
        self.workdir = workdir
        self.skip = skip
        self._stack = ExitStack()
        self._folders: dict[str, Path] = {}
        self._servers: dict[str, TransformersServe] = {}

    def folder(self, model: str) -> Path:
        """The model folder, with a chat template (built or linked once)."""
        if model not in self._folders:
            if model == "tiny":
                self._folders[model] = tiny_chat_model(self.workdir / "tiny-chat")
            elif model == "tiny-inprocess":
                # In-process, the served model's stop words would end every reply at
                # its first word, with nothing to show: without them it writes up to
                # max_tokens, which costs milliseconds in-process.
                self._folders[model] = build_tiny_llama(
                    self.workdir / "tiny-inprocess",
                    chat_template=TINY_CHAT_TEMPLATE,
                    max_positions=4096,
                )
            else:
                self._folders[model] = with_chat_template(
                    gemma_folder(),
                    self.workdir / "gemma-chat",
                    GEMMA_CHAT_TEMPLATE,
                    extra_eos=(GEMMA_END_OF_TURN,),
                )
        return self._folders[model]

    def server(self, model: str) -> TransformersServe:
        """A running ``transformers serve`` for ``model`` (started once)."""
        if model not in self._servers:
            problem = serve_available()
            self.skip(problem is None, problem or "")
            self._servers[model] = self._stack.enter_context(TransformersServe(self.folder(model)))
        return self._servers[model]

    def open(self, name: str) -> Live:
        """A fresh client for ``name`` (call ``aclose`` on it); fakes get a fresh server."""
        backend = BACKENDS[name]
        folder = self.folder(backend.model) if backend.kind == "serve" else None
        if backend.kind == "inprocess":
            folder = self.folder("tiny-inprocess" if backend.model == "tiny" else "gemma")
            # Greedy Gemma repeats list items until its budget without a penalty
            # (docs/models.md); the tiny model is left as it is.
            options: dict[str, Any] = (
                {"max_new_tokens": 128, "repetition_penalty": 1.3}
                if backend.model == "gemma"
                else {}
            )
            return Live(name, backend, TransformersClient(folder, model=name, **options), None)
        tap = UsageTap()
        if backend.kind == "serve":
            server = self.server(backend.model)
            http = httpx.AsyncClient(event_hooks={"response": [tap]})
            client = openai_client(server.base_url, server.model, backend, folder, http)
            return Live(name, backend, client, tap, http)
        assert backend.mode is not None
        http = httpx.AsyncClient(event_hooks={"response": [tap]})
        fake = FakeOpenAIServer(fake_model(backend.mode), mode=backend.mode).start()  # type: ignore[arg-type]
        client = openai_client(fake.base_url, "fake", backend, None, http)
        return Live(name, backend, client, tap, http, fake)

    def close(self) -> None:
        self._stack.close()

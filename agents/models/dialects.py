"""Structured-output dialects: how a JSON schema is put in front of an OpenAI-compatible server.

Servers disagree on ``response_format``:

- ``json_schema``: ``{"type": "json_schema", "json_schema": {"name", "schema", "strict"}}``,
  the OpenAI form. vLLM and Ollama (``/v1``, which turns the schema into its ``format``)
  constrain decoding with it; current llama.cpp builds accept it too.
- ``json_object``: ``{"type": "json_object", "schema": {...}}``, the llama.cpp form (and
  llama-cpp-python's): the schema becomes a grammar. Servers that know only OpenAI's JSON
  mode read it as "any JSON object" and ignore ``schema``.
- ``prompt``: no ``response_format``; the schema is written into a system message
  (``prompts/schema_instruction.jinja``) and the reply is parsed leniently. For servers
  that accept neither or ignore ``response_format`` (``transformers serve``).

``auto`` starts with ``json_schema`` and, when the server refuses the request with an
error that names ``response_format`` (or JSON schema support), moves down
``FALLBACK`` once per step and remembers where it landed.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any, Literal, get_args

from jinja2 import Environment, PackageLoader, StrictUndefined, Template

from agents.models.base import ChatMessage, ModelRequest
from protocols import UserError

__all__ = ["DIALECTS", "FALLBACK", "Dialect", "apply_dialect", "check_dialect", "names_format"]

Dialect = Literal["auto", "json_schema", "json_object", "prompt"]
DIALECTS: tuple[str, ...] = get_args(Dialect)
FALLBACK: dict[str, str] = {"json_schema": "json_object", "json_object": "prompt"}

# An error body that names the structured-output request: llama.cpp's "response_format
# type must be one of ...", vLLM's and OpenAI's "json_schema" / "Invalid schema ..." errors.
_NAMES_FORMAT = re.compile(r"response[_ ]format|json[_ ]schema|\bschema\b", re.IGNORECASE)


def check_dialect(dialect: str) -> Dialect:
    """``dialect`` if it is one of ``DIALECTS``, else a ``UserError`` naming the choices."""
    if dialect not in DIALECTS:
        raise UserError(
            f"dialect must be one of {', '.join(map(repr, DIALECTS))}, got {dialect!r}; "
            "'auto' discovers what the server accepts"
        )
    return dialect  # type: ignore[return-value]


def names_format(body: str) -> bool:
    """Whether an error body blames the structured-output part of the request."""
    return bool(_NAMES_FORMAT.search(body))


@cache
def _instruction() -> Template:
    env = Environment(
        loader=PackageLoader("agents.models", "prompts"),
        undefined=StrictUndefined,
        keep_trailing_newline=False,
        autoescape=False,
    )
    return env.get_template("schema_instruction.jinja")


def schema_instruction(schema: dict[str, Any], *, in_prompt: bool = False) -> str:
    """The system-message text that asks for JSON valid against ``schema``; with
    ``in_prompt`` (the prompt already states the schema) it does not repeat the schema."""
    text = _instruction().render(
        schema_json=json.dumps(schema, ensure_ascii=False), schema_in_prompt=in_prompt
    )
    return text.strip()


def _with_instruction(messages: tuple[ChatMessage, ...], text: str) -> list[dict[str, Any]]:
    """The messages with ``text`` added to the leading system message (or as a new one)."""
    turns = [m.model_dump() for m in messages]
    if turns and turns[0]["role"] == "system":
        turns[0]["content"] = f"{turns[0]['content']}\n\n{text}"
    else:
        turns.insert(0, {"role": "system", "content": text})
    return turns


def apply_dialect(body: dict[str, Any], request: ModelRequest, dialect: str) -> None:
    """Put ``request.response_schema`` into ``body`` the way ``dialect`` says (in place).

    ``body["messages"]`` must already hold the request's messages."""
    schema = request.response_schema
    if schema is None:
        return
    if dialect == "json_schema":
        title = str(schema.get("title") or "output")
        name = re.sub(r"[^A-Za-z0-9_-]", "_", title)[:64]
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": name, "schema": schema},
        }
    elif dialect == "json_object":
        body["response_format"] = {"type": "json_object", "schema": schema}
    else:
        body["messages"] = _with_instruction(
            request.messages, schema_instruction(schema, in_prompt=request.schema_in_prompt)
        )

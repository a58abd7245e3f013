"""Loading YAML config files with line numbers, so every error names file, line and field.

``load_yaml`` returns plain data plus a ``LineMap`` from field paths to 1-based lines;
``validate_yaml`` validates the data into a pydantic model and turns the first validation
error into a ``ConfigError`` naming the file, the line and the field path.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from protocols.errors import ConfigError, shorten

__all__ = [
    "MAX_ALIAS_REPEATS",
    "LineMap",
    "error_message",
    "iter_jsonl",
    "jsonl_records",
    "load_yaml",
    "validate_yaml",
]

T = TypeVar("T", bound=BaseModel)
Path_ = tuple[str | int, ...]


class LineMap:
    """1-based line numbers of the values (and keys) in a YAML document, by field path."""

    def __init__(self, lines: Mapping[Path_, int]) -> None:
        self._lines = dict(lines)

    def line(self, path: Path_) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        path = tuple(path)
        while path:
            if path in self._lines:
                return self._lines[path]
            path = path[:-1]
        return self._lines.get((), None)


MAX_ALIAS_REPEATS = 10_000
"""How many values YAML aliases may repeat in one file: a few anchors are fine, an alias
bomb (nested aliases that expand to billions of values) is refused."""


class _Converter:
    """Turns a composed YAML node graph into plain data, recording each path's line.

    Aliases share one node, so a value reached a second time is a repetition; their number
    is bounded, and an alias inside its own anchor is refused.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines: dict[Path_, int] = {}
        self.seen: set[int] = set()
        self.active: set[int] = set()
        self.repeats = 0
        self.constructor = yaml.SafeLoader("")

    def error(self, problem: str, node: yaml.Node) -> ConfigError:
        return ConfigError(problem, path=str(self.path), line=node.start_mark.line + 1)

    def convert(self, node: yaml.Node, path: Path_) -> Any:
        if id(node) in self.active:
            raise self.error("a YAML alias refers to its own anchor (a recursive value)", node)
        if id(node) in self.seen:
            self.repeats += 1
            if self.repeats > MAX_ALIAS_REPEATS:
                raise self.error(
                    f"YAML aliases repeat more than {MAX_ALIAS_REPEATS} values (an alias "
                    "bomb?); write the values out or use fewer nested aliases",
                    node,
                )
        self.seen.add(id(node))
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self.mapping(node, path)
            return [self.convert(item, (*path, i)) for i, item in enumerate(node.value)]
        finally:
            self.active.discard(id(node))

    def mapping(self, node: yaml.MappingNode, path: Path_) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.error(
                    "a mapping key must be a plain value, not a list or a mapping", key_node
                )
            key = self.scalar(key_node)
            out[key] = self.convert(value_node, (*path, key))
            self.lines[(*path, key)] = key_node.start_mark.line + 1
        return out

    def scalar(self, node: yaml.ScalarNode) -> Any:
        try:
            return self.constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, TypeError) as exc:
            problem = getattr(exc, "problem", None) or str(exc)
            raise self.error(
                f"cannot read the value {shorten(node.value)}: {problem}", node
            ) from None


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the file: {exc.strerror}", path=str(path)) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _not_utf8(path, data[: exc.start].count(b"\n") + 1, exc) from None


def _not_utf8(path: Path, line: int, exc: UnicodeDecodeError) -> ConfigError:
    bad = exc.object[exc.start : exc.start + 1]
    return ConfigError(
        f"not UTF-8 text (byte 0x{bad.hex()} cannot be decoded); save the file as UTF-8",
        path=str(path),
        line=line,
    )


def load_yaml(path: str | Path) -> tuple[Any, LineMap]:
    """Read a YAML file into plain data and a ``LineMap``.

    Aliases are expanded, but only up to ``MAX_ALIAS_REPEATS`` repeated values.

    Raises:
        ConfigError: The file is missing, is not UTF-8, is not valid YAML, or its aliases
            expand too far (with the line of the problem).
    """
    path = Path(path)
    text = _read_text(path)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ConfigError(
            f"not valid YAML: {exc.problem or exc}",
            path=str(path),
            line=mark.line + 1 if mark else None,
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", path=str(path)) from None
    except RecursionError:
        raise ConfigError("not valid YAML: nested too deeply", path=str(path)) from None
    converter = _Converter(path)
    try:
        data = None if node is None else converter.convert(node, ())
    except RecursionError:
        raise ConfigError("the YAML is nested too deeply", path=str(path)) from None
    lines = converter.lines
    return data, LineMap(lines)


def error_message(error: Any) -> str:
    """A pydantic error's message as people read it: a validator's own text without
    pydantic's ``"Value error, "`` prefix (``error`` is one of ``exc.errors()``)."""
    message = str(error["msg"])
    if error.get("type") == "value_error":
        return message.removeprefix("Value error, ")
    return message


def validate_yaml(
    path: str | Path, model: type[T], data: Any = None, lines: LineMap | None = None
) -> T:
    """Load ``path`` (unless ``data`` is given) and validate it as ``model``.

    Raises:
        ConfigError: Naming the file, the line and the dotted field path of the first error.
    """
    if data is None or lines is None:
        data, lines = load_yaml(path)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        # A typo shows up as an unknown field *and* a missing one: report the unknown one.
        first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        loc = tuple(p for p in first["loc"] if isinstance(p, str | int))
        field = ".".join(str(p) for p in loc) or None
        problem = error_message(first)
        if first["type"] == "extra_forbidden":
            missing = [
                str(e["loc"][-1])
                for e in errors
                if e["type"] == "missing" and tuple(e["loc"][:-1]) == tuple(first["loc"][:-1])
            ]
            close = difflib.get_close_matches(str(loc[-1]), missing, n=1)
            allowed = ", ".join(sorted(model.model_fields)) if len(loc) == 1 else "see the docs"
            problem = (
                f"unknown field; did you mean {close[0]!r}?"
                if close
                else f"unknown field (allowed: {allowed})"
            )
        elif "input" in first and first["type"] != "missing":
            problem = f"{problem} (got {first['input']!r})"
        raise ConfigError(problem, path=str(path), line=lines.line(loc), field=field) from None


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for each non-blank line of a JSONL file.

    Raises:
        ConfigError: The file cannot be read or is not UTF-8, or a line is not a JSON object
            (with its line).
    """
    for number, record in jsonl_records(path):
        if isinstance(record, ConfigError):
            raise record
        yield number, record


def jsonl_records(path: str | Path) -> Iterator[tuple[int, dict[str, Any] | ConfigError]]:
    """Like ``iter_jsonl``, but a line that is not a JSON object comes back as its
    ``ConfigError`` (file and line) instead of stopping the file, so a caller can skip it.

    Raises:
        ConfigError: The file cannot be read, or is not UTF-8 (nothing after that line can
            be trusted to be split into the right records).
    """
    path = Path(path)
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise ConfigError(f"cannot read the file: {exc.strerror}", path=str(path)) from None
    with handle:
        for number, raw in enumerate(handle, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise _not_utf8(path, number, exc) from None
            if not line.strip():
                continue
            yield number, _json_object(line, path, number)


def _json_object(line: str, path: Path, number: int) -> dict[str, Any] | ConfigError:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return ConfigError(
            f"not valid JSON: {exc.msg} (column {exc.colno})", path=str(path), line=number
        )
    except (ValueError, RecursionError) as exc:
        problem = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        return ConfigError(f"not valid JSON: {problem}", path=str(path), line=number)
    if not isinstance(record, dict):
        return ConfigError("expected a JSON object on each line", path=str(path), line=number)
    return record

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

from protocols.errors import ConfigError

__all__ = ["LineMap", "iter_jsonl", "load_yaml", "validate_yaml"]

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


def _convert(node: yaml.Node, path: Path_, lines: dict[Path_, int]) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = yaml.safe_load(yaml.serialize(key_node))
            out[key] = _convert(value_node, (*path, key), lines)
            lines[(*path, key)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*path, i), lines) for i, item in enumerate(node.value)]
    return yaml.safe_load(yaml.serialize(node))


def load_yaml(path: str | Path) -> tuple[Any, LineMap]:
    """Read a YAML file into plain data and a ``LineMap``.

    Raises:
        ConfigError: The file is missing or is not valid YAML (with the line of the problem).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the file: {exc.strerror}", path=str(path)) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ConfigError(
            f"not valid YAML: {exc.problem or exc}",
            path=str(path),
            line=mark.line + 1 if mark else None,
        ) from None
    lines: dict[Path_, int] = {}
    data = None if node is None else _convert(node, (), lines)
    return data, LineMap(lines)


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
        problem = first["msg"]
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
        ConfigError: The file cannot be read, or a line is not a JSON object (with its line).
    """
    path = Path(path)
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the file: {exc.strerror}", path=str(path)) from None
    with handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ConfigError(
                    f"not valid JSON: {exc.msg} (column {exc.colno})", path=str(path), line=number
                ) from None
            if not isinstance(record, dict):
                raise ConfigError(
                    "expected a JSON object on each line", path=str(path), line=number
                )
            yield number, record

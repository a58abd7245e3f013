"""Reading data files record by record, each record with the line it starts on.

The loaders of ``agents.eval.datasets`` check every record and must name the line of a bad
one; these readers give them that line for the three formats of the evaluation data:

- **JSON Lines** (GSM8K): one object per non-blank line;
- **a JSON list of objects** (StrategyQA, the misleading explanations): the elements are
  decoded one at a time, so each knows the line its ``{`` is on;
- **CSV with a header** (ECQA): a quoted field may span lines; a record's line is the one it
  starts on.

A record that is not even well-formed (a JSONL line that is not JSON) comes back as a
``Malformed`` so that ``skip_bad`` can skip it; a file whose structure is broken (a JSON list
cut short, a CSV without the expected header) cannot be read past and raises ``ConfigError``
with the line.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from protocols import ConfigError

__all__ = ["Malformed", "Record", "csv_records", "json_list_records", "jsonl_records", "read_text"]


@dataclass(frozen=True)
class Record:
    """One record of a data file and the 1-based line it starts on."""

    line: int
    value: Any


@dataclass(frozen=True)
class Malformed:
    """A record that could not be decoded at all, with why."""

    line: int
    reason: str


def read_text(path: Path) -> tuple[str, bytes]:
    """The file's text (UTF-8) and its bytes (for the data hash).

    Raises:
        ConfigError: The file cannot be read or is not UTF-8 (with the line of the first
            bad byte).
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the file: {exc.strerror}", path=str(path)) from None
    try:
        return data.decode("utf-8"), data
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            "not UTF-8 text; save the file as UTF-8", path=str(path), line=line
        ) from None


def jsonl_records(path: Path, text: str) -> Iterator[Record | Malformed]:
    """Each non-blank line of a JSON Lines file, decoded."""
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield Record(number, json.loads(line))
        except json.JSONDecodeError as exc:
            yield Malformed(number, f"not valid JSON: {exc.msg} (column {exc.colno})")
        except (ValueError, RecursionError) as exc:
            problem = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            yield Malformed(number, f"not valid JSON: {problem}")


def _skip_space(text: str, at: int) -> int:
    while at < len(text) and text[at] in " \t\r\n":
        at += 1
    return at


def json_list_records(path: Path, text: str) -> Iterator[Record]:
    """Each element of a file holding one JSON list, with the line the element starts on.

    Raises:
        ConfigError: The file is not a JSON list, or is not valid JSON (with the line).
    """
    decoder = json.JSONDecoder()
    counted = [0, 1]  # (offset, line there): lines are counted forward, once

    def line_of(at: int) -> int:
        offset, line = counted
        line += text.count("\n", offset, at) if at >= offset else -text.count("\n", at, offset)
        counted[:] = [at, line]
        return line

    at = _skip_space(text, 0)
    if not text.startswith("[", at):
        raise ConfigError(
            "expected a JSON list of records ([{...}, {...}])", path=str(path), line=line_of(at)
        )
    at = _skip_space(text, at + 1)
    if text.startswith("]", at):
        return
    while True:
        try:
            value, end = decoder.raw_decode(text, at)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"not valid JSON: {exc.msg} (column {exc.colno})", path=str(path), line=exc.lineno
            ) from None
        except (ValueError, RecursionError) as exc:
            problem = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            raise ConfigError(
                f"not valid JSON: {problem}", path=str(path), line=line_of(at)
            ) from None
        yield Record(line_of(at), value)
        at = _skip_space(text, end)
        if text.startswith("]", at):
            break
        if not text.startswith(",", at):
            raise ConfigError(
                "not valid JSON: expected ',' or ']' after a record",
                path=str(path),
                line=line_of(at),
            )
        at = _skip_space(text, at + 1)
    rest = _skip_space(text, at + 1)
    if rest < len(text):
        raise ConfigError("not valid JSON: text after the list", path=str(path), line=line_of(rest))


def csv_records(path: Path, text: str, columns: Sequence[str]) -> Iterator[Record | Malformed]:
    """Each row of a CSV file with a header, as a dict of the header's columns.

    Raises:
        ConfigError: The header lacks one of ``columns`` (line 1), or the CSV cannot be
            parsed (an unterminated quote; with the line).
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise ConfigError("empty file; expected a CSV header line", path=str(path), line=1)
        missing = [c for c in columns if c not in header]
        if missing:
            raise ConfigError(
                f"the CSV header lacks the column(s) {', '.join(missing)} "
                f"(it has: {', '.join(header)})",
                path=str(path),
                line=1,
            )
        start = reader.line_num + 1
        for row in reader:
            if not any(cell.strip() for cell in row):
                start = reader.line_num + 1
                continue
            if len(row) != len(header):
                yield Malformed(
                    start, f"{len(row)} fields, but the header has {len(header)} columns"
                )
            else:
                yield Record(start, dict(zip(header, row, strict=True)))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise ConfigError(f"not valid CSV: {exc}", path=str(path), line=reader.line_num) from None

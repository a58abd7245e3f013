"""Where the real evaluation data lives: a path argument, else ``$LYCEUM_DATA_DIR``."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from protocols import ConfigError
from protocols.config import iter_jsonl

__all__ = ["DATA_ENV", "data_file", "read_json", "read_jsonl_records", "read_records"]

DATA_ENV = "LYCEUM_DATA_DIR"


def data_file(relative: str, data_dir: str | Path | None = None) -> Path:
    """The path of ``relative`` inside the data folder, checked to exist."""
    base = data_dir or os.environ.get(DATA_ENV)
    if not base:
        raise ConfigError(
            f"no data folder: pass --data (data_dir=) or set {DATA_ENV} to the "
            f"folder that holds {relative.split('/')[0]}/"
        )
    path = Path(base) / relative
    try:
        found = path.is_file()
    except OSError as exc:  # a name too long for the file system
        raise ConfigError(f"cannot use the data folder: {exc.strerror}", path=str(path)) from None
    if not found:
        raise ConfigError(
            f"{relative} is not in the data folder {base}; point {DATA_ENV} or "
            "--data at the folder described in shared/data/README.md",
            path=str(path),
        )
    return path


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"not valid JSON: {exc.msg}", path=str(path), line=exc.lineno) from None
    except UnicodeDecodeError:
        raise ConfigError("not UTF-8 text; save the file as UTF-8", path=str(path)) from None
    except (ValueError, RecursionError) as exc:  # huge integers, deep nesting
        problem = "nested too deeply" if isinstance(exc, RecursionError) else exc
        raise ConfigError(f"not valid JSON: {problem}", path=str(path)) from None


def read_jsonl_records(path: Path) -> list[dict[str, Any]]:
    return [record for _, record in iter_jsonl(path)]


def read_records(
    relative: str, fields: Sequence[str], data_dir: str | Path | None = None
) -> list[dict[str, Any]]:
    """A JSON list of objects from the data folder, each checked to have ``fields``."""
    path = data_file(relative, data_dir)
    records = read_json(path)
    if not isinstance(records, list):
        raise ConfigError("expected a JSON list of records", path=str(path))
    for i, record in enumerate(records):
        missing = [f for f in fields if not isinstance(record, dict) or f not in record]
        if missing:
            raise ConfigError(f"record {i} lacks {missing}", path=str(path), field=f"[{i}]")
    return records

"""Where the real evaluation data lives: a path argument, else ``$LYCEUM_DATA_DIR``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from protocols import ConfigError

__all__ = ["DATA_ENV", "data_file", "read_json", "read_jsonl_records"]

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
    if not path.is_file():
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


def read_jsonl_records(path: Path) -> list[dict[str, Any]]:
    records = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ConfigError(
                    f"not valid JSON: {exc.msg}", path=str(path), line=number
                ) from None
            if not isinstance(record, dict):
                raise ConfigError("expected a JSON object per line", path=str(path), line=number)
            records.append(record)
    return records

"""What a sweep's report states about where its numbers came from: the config, the data
hash, the code version and the kind of student.

A task tells what it can through optional attributes (``SweepTask`` requires none of them):
``config`` (a pydantic model or a mapping), ``data_sha256`` (the hash of the data read),
``student_kind`` (``"simulated"`` or ``"lm"``), ``skipped`` (the ``BadRecord``s skipped
under ``--skip-bad``); or, for those two, ``dataset`` (the loaded ``Dataset``, which holds
both; also found as ``world.data``, where ``ToMTask`` keeps it). What a task does not tell
is reported as unknown.
"""

from __future__ import annotations

import subprocess
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from agents.eval.base import BadRecord, Dataset, SweepTask

__all__ = ["code_version", "task_meta"]


@cache
def code_version() -> str:
    """The package version, with the git commit of the source tree when it is a checkout
    (``"0.1.0+g1a2b3c4"``, ``"…-dirty"`` with uncommitted changes)."""
    try:
        version = metadata.version("lyceum")
    except metadata.PackageNotFoundError:
        version = "unknown"
    root = Path(__file__).resolve().parents[2]
    try:
        sha = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return version
    return f"{version}+g{sha}{'-dirty' if dirty else ''}" if sha else version


def _config(task: SweepTask) -> Any:
    config = getattr(task, "config", None)
    dump = getattr(config, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    if isinstance(config, dict):
        return config
    return None if config is None else repr(config)


def _dataset(task: SweepTask) -> Dataset | None:
    world = getattr(task, "world", None)
    for found in (getattr(task, "dataset", None), getattr(world, "data", None)):
        if isinstance(found, Dataset):
            return found
    return None


def _bad(record: object) -> str:
    if isinstance(record, BadRecord):
        return f"{record.file}:{record.line}: {record.reason}"
    return str(record)


def task_meta(task: SweepTask) -> dict[str, Any]:
    """The task's provenance as JSON-ready metadata (stored with the sweep, shown in the
    report)."""
    dataset = _dataset(task)
    sha = getattr(task, "data_sha256", None) or getattr(dataset, "sha256", None)
    skipped = getattr(task, "skipped", None) or getattr(dataset, "skipped", ()) or ()
    return {
        "kind": task.kind,
        "config_hash": task.config_hash(),
        "config": _config(task),
        "data_sha256": sha,
        "student_kind": getattr(task, "student_kind", None),
        "skipped": [_bad(record) for record in skipped],
        "code_version": code_version(),
    }

"""``lyceum eval compare A B``: the per-curve-point differences of two sweeps.

A sweep is named by an output folder (its ``sweep.json``, written by ``write_report``) or
by its config hash (or a unique prefix) in the store, where ``lyceum eval tom|tutoring``
keeps its curve points once it has reported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.eval.results import SweepStore
from protocols import UserError
from protocols.errors import shorten

__all__ = ["CurveDiff", "compare_points", "load_points"]


@dataclass(frozen=True)
class CurveDiff:
    """One curve point of either sweep: its means, B − A, and whether the 95% CIs overlap
    (None where only one sweep has the point).

    Attributes:
        metric: ``"accuracy"``, ``"success"``, ``"telling"``...
        strategy: The strategy or policy.
        at: The budget or k (``x`` says which).
        x: ``"budget"`` or ``"k"``.
    """

    metric: str
    strategy: str
    x: str
    at: float
    a: float | None
    b: float | None
    diff: float | None
    overlap: bool | None


def _is_dir(path: Path) -> bool:
    """Whether ``path`` is a folder; a name the system cannot even look up (too long, a
    NUL byte) is not one."""
    try:
        return path.is_dir()
    except (OSError, ValueError):
        return False


def load_points(source: str, store: SweepStore | None = None) -> tuple[str, list[dict[str, Any]]]:
    """A sweep's label and curve points, from an output folder or the store.

    Raises:
        UserError: Neither a folder with ``sweep.json`` nor a stored sweep that has reported.
    """
    path = Path(source)
    if _is_dir(path):
        manifest = path / "sweep.json"
        if not manifest.is_file():
            raise UserError(
                f"{shorten(source, 200)} has no sweep.json; name a folder written by "
                "`lyceum eval ... --out DIR`, or a sweep's config hash in the store"
            )
        try:
            data = json.loads(manifest.read_text())
            return f"{source} ({str(data['config_hash'])[:12]})", list(data["curves"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UserError(
                f"{manifest} is not a sweep manifest ({exc}); rerun the sweep"
            ) from None
    sweep = (store or SweepStore()).get(source)
    points = sweep.meta.get("curves")
    if points is None:
        raise UserError(
            f"sweep {sweep.config_hash[:12]} in the store has no curves yet (it never "
            "finished); rerun it with `lyceum eval`, which resumes it"
        )
    return sweep.config_hash[:12], list(points)


def _at(point: dict[str, Any]) -> float:
    return float(point["budget"] if point["x"] == "budget" else point["k"])


def compare_points(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> list[CurveDiff]:
    """Every point of A or B, matched on (metric, strategy, budget or k)."""

    def index(points: list[dict[str, Any]]) -> dict[tuple[str, str, str, float], dict[str, Any]]:
        return {(p["metric"], p["strategy"], p["x"], _at(p)): p for p in points}

    left, right = index(a), index(b)
    diffs = []
    for key in sorted(left.keys() | right.keys()):
        pa, pb = left.get(key), right.get(key)
        both = pa is not None and pb is not None
        diffs.append(
            CurveDiff(
                *key,
                a=None if pa is None else float(pa["mean"]),
                b=None if pb is None else float(pb["mean"]),
                diff=float(pb["mean"]) - float(pa["mean"]) if pa and pb else None,
                overlap=(pa["low"] <= pb["high"] and pb["low"] <= pa["high"])
                if pa and pb and both
                else None,
            )
        )
    return diffs

"""What the ToM evaluation page does besides drawing: the example configs it offers, an
uploaded or overridden config as a task, the sweep as a background job, and the pictures
and tables of curve points."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import streamlit as st

from agents.eval import SweepStore, ToMConfig, ToMTask, arun_sweep
from agents.eval.plots import normalise_points, plot_curves
from protocols import ConfigError
from ui.common import load_upload
from ui.live import LiveJob

__all__ = [
    "EXAMPLES",
    "curve_images",
    "curve_pngs",
    "example_configs",
    "overridden",
    "points_table",
    "sweep_job",
    "uploaded_task",
]

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "sweeps"
"""The example sweep configs offered (a source checkout's ``examples/sweeps``)."""


def example_configs() -> dict[str, Path]:
    """The ToM sweep configs under ``EXAMPLES`` (files that are valid ``ToMConfig``s), by
    file name."""
    found = {}
    for path in sorted(EXAMPLES.glob("*.yaml")) if EXAMPLES.is_dir() else []:
        try:
            ToMConfig.from_yaml(path)
        except ConfigError:
            continue  # another kind of sweep (tutoring)
        found[path.name] = path
    return found


def uploaded_task(name: str, data: bytes) -> ToMTask:
    """The task of an uploaded YAML file (relative data paths are read from the working
    folder); errors name the upload's file name."""
    return ToMTask(load_upload(name, data, ToMConfig.from_yaml), base_dir=Path.cwd())


def overridden(task: ToMTask, seeds: int | None, limit: int | None, cohort: int | None) -> ToMTask:
    """``task`` with the page's overrides (None keeps the config's value), validated."""
    data: dict[str, Any] = task.config.model_dump(mode="json")
    if seeds is not None:
        data["seeds"] = seeds
    if limit is not None:
        data["dataset"]["limit"] = limit
    if cohort is not None:
        data["students"]["cohort"] = cohort
    return ToMTask(ToMConfig.model_validate(data), base_dir=task.base_dir)


async def sweep_job(job: LiveJob[Any], task: ToMTask, url: str) -> dict[str, Any]:
    """Run the sweep, store its curve points (as ``lyceum eval tom`` does), and return
    what the page shows when it ends."""
    with SweepStore(url) as store:
        result = await arun_sweep(
            task, store=store, progress=False, on_progress=lambda *p: job.push(p)
        )
        points = normalise_points(task.curves(result.payloads))
        store.update_meta(result.config_hash, curves=points)
    return {
        "config_hash": result.config_hash,
        "units": len(result.units),
        "reused": result.reused,
        "ran": result.ran,
        "seconds": result.seconds,
    }


@st.cache_data(max_entries=32, show_spinner=False)
def curve_pngs(points_json: str) -> list[tuple[str, bytes]]:
    """(title, PNG) of each curve plot of the points (JSON), drawn once per set of points
    (a pure function of them, so every session may share the drawing)."""
    with tempfile.TemporaryDirectory() as tmp:
        return [
            (plot.title, plot.png.read_bytes())
            for plot in plot_curves(json.loads(points_json), Path(tmp))
        ]


def points_table(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "strategy": p["strategy"],
            "metric": p["metric"],
            p["x"]: p["budget"] if p["x"] == "budget" else p["k"],
            "mean": p["mean"],
            "95% CI low": p["low"],
            "95% CI high": p["high"],
            "n": p.get("n"),
        }
        for p in points
    ]


def curve_images(points: list[dict[str, Any]]) -> None:
    """Show the curve plots of ``points`` (``curve_pngs``)."""
    for title, png in curve_pngs(json.dumps(points, sort_keys=True)):
        st.image(png, caption=title)

"""A finished sweep's outputs (``--out DIR``): the results table (CSV and Parquet), the curve
points, their plots (PNG and SVG), and a Markdown and an HTML report that embed the plots and
state the config, the data hash, the code version and the kind of student.

``sweep.json`` holds the provenance and the curve points: ``lyceum eval compare`` reads it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.eval.base import EpisodeKey, Payload, SweepTask
from agents.eval.plots import CurvePlot, normalise_points, plot_curves
from agents.eval.runner import SweepResult
from agents.templating import render_template

__all__ = ["Report", "curve_points", "results_frame", "write_report"]

_TEMPLATES = Path(__file__).with_name("templates")
_SIMULATED = (
    "SIMULATION: the students are simulated learners (a documented cognitive model), not "
    "language models. These numbers describe the simulation, not LLMs."
)
_LM = "The students are language models (LM students), answering through a model client."


@dataclass(frozen=True)
class Report:
    """What ``write_report`` wrote."""

    out: Path
    files: list[Path]
    points: list[dict[str, Any]]

    @property
    def markdown(self) -> Path:
        """The Markdown report."""
        return self.out / "report.md"

    @property
    def html(self) -> Path:
        """The HTML report (plots inlined as SVG)."""
        return self.out / "report.html"


def _require() -> None:
    try:
        import matplotlib  # noqa: F401
        import pandas  # noqa: F401
        import pyarrow  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"sweep reports need pandas, pyarrow and matplotlib ({exc.name} is missing): "
            "pip install 'lyceum[eval]'"
        ) from None


def _cell(value: object) -> object:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return json.dumps(value, sort_keys=True)


def results_frame(result: SweepResult) -> Any:
    """One row per unit: its key, its run time and its payload's fields (a nested value as
    JSON text), as a pandas DataFrame."""
    import pandas as pd

    rows = [
        {
            "config_hash": result.config_hash,
            "kind": key.kind,
            "item": key.item,
            "strategy": key.strategy,
            "budget": key.budget,
            "seed": key.seed,
            "seconds": unit.seconds,
            **{name: _cell(v) for name, v in unit.payload.items()},
        }
        for key, unit in result.units.items()
    ]
    return pd.DataFrame(rows)


def curve_points(task: SweepTask, results: Mapping[EpisodeKey, Payload]) -> list[dict[str, Any]]:
    """The task's curve points as plain dicts (none if the task has no ``curves``)."""
    curves = getattr(task, "curves", None)
    return normalise_points(curves(results)) if callable(curves) else []


def _students(kind: object) -> tuple[str, str]:
    if kind == "simulated":
        return "simulated (SIMULATION)", _SIMULATED
    if kind == "lm":
        return "language models", _LM
    return "unknown", "The task did not say what kind of students it ran."


def _table(points: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    columns = ["strategy", "metric", "budget/k", "mean", "95% CI", "n"]
    rows = [
        [
            str(p["strategy"]),
            str(p["metric"]),
            f"{p['budget']:g}" if p["x"] == "budget" else str(p["k"]),
            f"{p['mean']:.3f}",
            f"[{p['low']:.3f}, {p['high']:.3f}]",
            str(p.get("n", "")),
        ]
        for p in points
    ]
    return columns, rows


def write_report(task: SweepTask, result: SweepResult, out: str | Path) -> Report:
    """Write the sweep's outputs into ``out`` (created if needed).

    Raises:
        ImportError: pandas, pyarrow or matplotlib is missing (the ``eval`` extra).
    """
    _require()
    import yaml
    from markdown_it import MarkdownIt

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    frame = results_frame(result)
    frame.to_csv(out / "results.csv", index=False)
    frame.to_parquet(out / "results.parquet", index=False)
    payloads = result.payloads
    points = curve_points(task, payloads)
    import pandas as pd

    pd.DataFrame(points).to_csv(out / "curves.csv", index=False)
    ci_over = str(getattr(task, "ci_over", "seeds"))
    plots: list[CurvePlot] = plot_curves(points, out, ci_over=ci_over) if points else []
    findings = getattr(task, "findings", None)
    text = findings(payloads).strip() if callable(findings) else ""
    meta = dict(result.meta)
    students, label = _students(meta.get("student_kind"))
    columns, rows = _table(points)
    context = {
        "title": f"lyceum eval {result.kind}: sweep {result.config_hash[:12]}",
        "label": label,
        "students": students,
        "meta": meta,
        "units": len(result.units),
        "reused": result.reused,
        "ran": result.ran,
        "store": result.store_url,
        "plots": plots,
        "findings": text,
        "findings_html": MarkdownIt("commonmark").enable("table").render(text) if text else "",
        "columns": columns,
        "rows": rows,
        "config": yaml.safe_dump(meta.get("config"), sort_keys=False).strip(),
    }
    (out / "report.md").write_text(render_template(_TEMPLATES, "report.md.jinja", **context))
    (out / "report.html").write_text(render_template(_TEMPLATES, "report.html.jinja", **context))
    manifest = {**meta, "units": len(result.units), "curves": points, "findings": text}
    (out / "sweep.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    names = ["results.csv", "results.parquet", "curves.csv", "report.md", "report.html"]
    files = [out / n for n in names] + [p for plot in plots for p in (plot.png, plot.svg)]
    return Report(out, [*files, out / "sweep.json"], points)

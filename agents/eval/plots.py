"""Curve points and their plots: accuracy vs budget per strategy, and success@k / telling@k
per policy, each with its 95% confidence band (matplotlib, no display needed).

A task's ``curves(results)`` returns points with ``strategy``, ``mean``, ``low``, ``high``,
``n`` and either ``budget`` (ToM) or ``k`` (tutoring), optionally a ``metric`` (default
``"accuracy"``); dataclasses, pydantic models or mappings all work.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["CurvePlot", "normalise_points", "plot_curves"]


def _as_dict(point: object) -> dict[str, Any]:
    if isinstance(point, Mapping):
        return dict(point)
    if dataclasses.is_dataclass(point) and not isinstance(point, type):
        return dataclasses.asdict(point)
    dump = getattr(point, "model_dump", None)
    if callable(dump):
        return dict(dump(mode="json"))
    return dict(vars(point))


def normalise_points(points: Iterable[object]) -> list[dict[str, Any]]:
    """Points as plain dicts with a ``metric`` and an ``x`` (``"budget"`` or ``"k"``).

    Raises:
        ValueError: A point lacks ``strategy``/``mean``/``low``/``high`` or both x fields.
    """
    out = []
    for point in points:
        row = _as_dict(point)
        missing = [f for f in ("strategy", "mean", "low", "high") if f not in row]
        if missing or ("budget" not in row and "k" not in row):
            raise ValueError(
                f"a curve point needs strategy, mean, low, high and budget or k; "
                f"{row!r} lacks {', '.join(missing) or 'budget/k'}"
            )
        row.setdefault("metric", "accuracy")
        row["x"] = "k" if "k" in row and row.get("budget") is None else "budget"
        out.append(row)
    return out


@dataclass(frozen=True)
class CurvePlot:
    """One plot written as PNG and SVG."""

    title: str
    png: Path
    svg: Path

    @property
    def svg_inline(self) -> str:
        """The SVG without its XML prologue, to embed in HTML."""
        text = self.svg.read_text()
        return text[text.index("<svg") :]


def _figure(rows: Sequence[dict[str, Any]], x: str, metric: str) -> Any:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.add_subplot()
    strategies = list(dict.fromkeys(r["strategy"] for r in rows))
    for strategy in strategies:
        pts = sorted((r for r in rows if r["strategy"] == strategy), key=lambda r: r[x])
        xs = [r[x] for r in pts]
        (line,) = ax.plot(xs, [r["mean"] for r in pts], marker="o", label=strategy)
        ax.fill_between(
            xs,
            [r["low"] for r in pts],
            [r["high"] for r in pts],
            color=line.get_color(),
            alpha=0.15,
            linewidth=0,
        )
    ax.set_xlabel("budget (fraction of items explained)" if x == "budget" else "k (turns)")
    ax.set_ylabel(metric if x == "budget" else f"{metric}@k")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", ncols=2)
    return fig


def plot_curves(points: Sequence[dict[str, Any]], out: Path) -> list[CurvePlot]:
    """One plot per (x, metric): ``accuracy_vs_budget``, ``success_at_k``, ``telling_at_k``
    …, each as PNG and SVG in ``out``, strategies as lines, 95% CIs as bands."""
    import matplotlib

    plots = []
    groups = dict.fromkeys((r["x"], r["metric"]) for r in points)
    for x, metric in groups:
        rows = [r for r in points if (r["x"], r["metric"]) == (x, metric)]
        stem = f"{metric}_vs_budget" if x == "budget" else f"{metric}_at_k"
        title = (
            f"{metric} vs budget (95% CI over seeds)"
            if x == "budget"
            else (f"{metric}@k (95% CI over seeds)")
        )
        fig = _figure(rows, x, metric)
        fig.suptitle(title)
        png, svg = out / f"{stem}.png", out / f"{stem}.svg"
        fig.savefig(png, dpi=120, metadata={"Software": None})
        with matplotlib.rc_context({"svg.hashsalt": stem}):
            buffer = io.StringIO()
            fig.savefig(buffer, format="svg", metadata={"Date": None})
        svg.write_text(buffer.getvalue())
        plots.append(CurvePlot(title, png, svg))
    return plots

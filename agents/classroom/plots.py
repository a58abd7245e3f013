"""Pictures of a classroom run (matplotlib, no display needed): each student's quiz mastery
over the lesson steps, and the teacher's estimate of each student next to the simulated
student's true mastery. The report embeds them as PNG; the app shows the figures.

matplotlib is imported only when a figure is drawn (``pip install 'lyceum[eval]'``).
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agents.classroom.view import ClassroomView
from protocols.text import short_id

__all__ = [
    "ClassroomPlot",
    "classroom_plots",
    "estimate_figure",
    "png_bytes",
    "quiz_figure",
]


def _require() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError("classroom plots need matplotlib: pip install 'lyceum[eval]'") from None


@dataclass(frozen=True)
class ClassroomPlot:
    """One figure as PNG bytes.

    Attributes:
        name: A file stem (``quiz_mastery``).
        title: What it shows.
        png: The PNG image.
    """

    name: str
    title: str
    png: bytes

    @property
    def data_uri(self) -> str:
        """The PNG as a ``data:`` URI, to embed in a self-contained HTML file."""
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


def png_bytes(figure: Any, *, dpi: int = 110) -> bytes:
    """A matplotlib figure as PNG bytes (no timestamp or software tag: the same figure
    gives the same bytes)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def _step_labels(view: ClassroomView, steps: Sequence[int]) -> list[str]:
    concept = {s.index: short_id(s.concept) for s in view.steps}
    return [f"{i}\n{concept[i]}" if i in concept else str(i) for i in steps]


def _empty(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="grey")
    ax.set_xticks([])
    ax.set_yticks([])


def quiz_figure(view: ClassroomView) -> Any:
    """Each student's quiz score (fraction of the quiz items answered right, averaged over
    the quiz's skills) at each quiz step: one line per student."""
    _require()
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 4.2), layout="constrained")
    ax = fig.add_subplot()
    quizzes = view.means("quiz")
    if not quizzes:
        _empty(ax, "no quiz yet")
        return fig
    for student in dict.fromkeys(m.student for m in quizzes):
        points = sorted((m.step, m.mean) for m in quizzes if m.student == student)
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=student)
    steps = sorted({m.step for m in quizzes})
    ax.set_xticks(steps, _step_labels(view, steps), fontsize="small")
    ax.set_xlabel("lesson step (quiz)")
    ax.set_ylabel("quiz score (fraction right)")
    ax.set_ylim(-0.05, 1.05)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", ncols=min(4, len(ax.lines)))
    return fig


def _series(ax: Any, xs: list[int], ys: list[float | None], **style: Any) -> None:
    points = [(x, y) for x, y in zip(xs, ys, strict=True) if y is not None]
    if points:
        ax.plot([p[0] for p in points], [p[1] for p in points], **style)


def estimate_figure(view: ClassroomView) -> Any:
    """One panel per student: the teacher's theory-of-mind estimate of its mastery
    (P̂ correct, mean over skills) next to the simulated student's true P(correct), with
    its quiz scores as dots. The truth is a simulation's: only simulated students have it."""
    _require()
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    students = view.students
    cols = min(4, max(1, len(students)))
    nrows = max(1, math.ceil(len(students) / cols))
    fig = Figure(figsize=(3.2 * cols + 0.6, 2.6 * nrows + 0.6), layout="constrained")
    axes = fig.subplots(nrows, cols, squeeze=False, sharex=True, sharey=True)
    if not students:
        _empty(axes[0][0], "no estimate yet")
        return fig
    for n, ax in enumerate(ax for row in axes for ax in row):
        if n >= len(students):
            ax.set_visible(False)
            continue
        student = students[n]
        series = view.estimate_series(student)
        xs = [s[0] for s in series]
        _series(ax, xs, [s[1] for s in series], marker="o", label="teacher's estimate")
        _series(ax, xs, [s[2] for s in series], ls="--", marker="s", label="simulated truth")
        quiz = sorted((m.step, m.mean) for m in view.means("quiz", student))
        _series(ax, [q[0] for q in quiz], [q[1] for q in quiz], ls="", marker="x", label="quiz")
        ax.set_title(student, fontsize="medium")
        ax.set_ylim(-0.05, 1.05)
        ax.grid(alpha=0.3)
        ax.set_xlabel("lesson step", fontsize="small")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    steps = [s.index for s in view.steps] or [m.step for m in view.averages]
    axes[0][0].set_xlim(min(steps) - 0.5, max(steps) + 0.5)
    axes[0][0].set_ylabel("P(correct)")
    fig.suptitle("The teacher's estimate next to the simulated truth (simulation)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncols=3, fontsize="small")
    return fig


def classroom_plots(view: ClassroomView) -> list[ClassroomPlot]:
    """The run's two figures as PNG: quiz mastery per student, and the teacher's estimate
    next to the simulated truth.

    Raises:
        ImportError: matplotlib is missing (the ``eval`` extra).
    """
    return [
        ClassroomPlot("quiz_mastery", "Quiz mastery per student", png_bytes(quiz_figure(view))),
        ClassroomPlot(
            "teacher_estimate",
            "The teacher's estimate of each student next to the simulated truth",
            png_bytes(estimate_figure(view)),
        ),
    ]

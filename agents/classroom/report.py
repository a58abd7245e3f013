"""The classroom report: one self-contained HTML file (plots embedded as PNG, no other file
needed) with the run id, the config, the roster, the lesson steps, each student's mastery
over time next to the teacher's estimate and the simulated truth, the reviewer's verdicts
and the whole transcript (the teacher's Think/Plan folded away). A run whose minds are all
simulated is labelled SIMULATION at the top; the students' mastery is always a simulated
learner's (or a real person's, for a human student).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.classroom.config import PROFILE_MISCONCEPTIONS, ClassroomConfig
from agents.classroom.plots import ClassroomPlot, classroom_plots
from agents.classroom.view import ClassroomView, classroom_view
from agents.templating import render_template
from protocols import Envelope
from protocols.secrets import mask_url
from protocols.text import short_id

__all__ = ["ClassroomReport", "report_label", "write_classroom_report"]

_TEMPLATES = Path(__file__).with_name("templates")
_ALL_SIMULATED = (
    "SIMULATION: every mind in this classroom is simulated (documented cognitive models, no "
    "LLM and no model call): the teacher, the teaching assistant, the classmates and the "
    "students. These numbers describe the simulation, not LLMs."
)
_STUDENTS_SIMULATED = (
    "SIMULATION (students): {who} {verb} on the LLM {model}; the students are simulated learners, "
    "so their quiz scores and the 'simulated truth' describe the simulation, not LLMs."
)


@dataclass(frozen=True)
class ClassroomReport:
    """What ``write_classroom_report`` wrote.

    Attributes:
        html: The report file.
        view: The run's view it was drawn from.
        plots: The figures it embeds.
    """

    html: Path
    view: ClassroomView
    plots: list[ClassroomPlot]


def report_label(config: ClassroomConfig) -> str:
    """The label a classroom's results carry: SIMULATION when every mind is simulated,
    else which roles run on the LLM (the students' results are always a simulation's)."""
    if config.simulated() or config.model is None:
        return _ALL_SIMULATED
    names = {
        "teacher": "the teacher",
        "teaching_assistant": "the teaching assistant",
        "classmates": "the classmates",
    }
    roles = [n for r, n in names.items() if config.minds.of(r, True) == "llm"]  # type: ignore[arg-type]
    who = ", ".join(roles[:-1]) + " and " + roles[-1] if len(roles) > 1 else roles[0]
    return _STUDENTS_SIMULATED.format(
        who=who[0].upper() + who[1:],
        verb="runs" if len(roles) == 1 else "run",
        model=f"{config.model.model} at {mask_url(config.model.base_url)}",
    )


def _roster(config: ClassroomConfig) -> list[dict[str, str]]:
    llm = config.model is not None
    rows = [
        {"name": "teacher", "role": "teacher", "mind": config.minds.of("teacher", llm)},
    ]
    if config.teaching_assistant:
        mind = config.minds.of("teaching_assistant", llm)
        rows.append({"name": "teaching_assistant", "role": "teaching assistant", "mind": mind})
    rows += [
        {"name": c, "role": "classmate", "mind": config.minds.of("classmates", llm)}
        for c in config.classmates
    ]
    if config.reviewer:
        rows.append({"name": "reviewer", "role": "reviewer", "mind": "rubric"})
    for s in config.students:
        given = s.misconceptions
        mis = given if given is not None else PROFILE_MISCONCEPTIONS.get(s.profile, ())
        shown = ", ".join(short_id(m) for m in mis) or "none"
        origin = "" if given is not None else " (its profile's)"
        rows.append(
            {
                "name": s.name,
                "role": f"student ({s.profile}; misconceptions: {shown}{origin})",
                "mind": "simulated learner",
            }
        )
    if config.human:
        rows.append({"name": config.human, "role": "student", "mind": "a real person"})
    return rows


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _final(view: ClassroomView) -> list[list[str]]:
    """Per student: the last quiz score, the quizzes, the teacher's last estimate and the
    simulated truth."""
    return [
        [
            row.student,
            _fmt(row.last_quiz),
            " → ".join(f"{q:.2f}" for q in row.quizzes) or "-",
            _fmt(row.estimate),
            _fmt(row.truth),
        ]
        for row in view.summary()
    ]


def _config_yaml(config: ClassroomConfig) -> str:
    import yaml

    data: dict[str, Any] = config.model_dump(mode="json")
    if data.get("model"):
        data["model"]["base_url"] = mask_url(data["model"]["base_url"])
    return str(yaml.safe_dump(data, sort_keys=False)).strip()


def write_classroom_report(
    messages: Sequence[Envelope],
    config: ClassroomConfig,
    run_id: str,
    out: str | Path,
    *,
    status: str | None = None,
) -> ClassroomReport:
    """Write the report of classroom run ``run_id`` (its ``messages``, run with ``config``)
    into the folder ``out`` (created if needed) as ``classroom-<run id>.html``.

    Raises:
        ImportError: matplotlib is missing (the ``eval`` extra).
        OSError: ``out`` cannot be created or written.
    """
    view = classroom_view(messages)
    plots = classroom_plots(view)
    context = {
        "title": f"lyceum classroom: {view.lesson or config.lesson}",
        "label": report_label(config),
        "run_id": run_id,
        "status": status or "-",
        "stop": view.stop or "-",
        "config": _config_yaml(config),
        "roster": _roster(config),
        "steps": view.steps,
        "plots": plots,
        "final": _final(view),
        "gaps": view.estimate_gap(),
        "verdicts": view.verdicts(),
        "reviews": view.reviews,
        "reviewer": config.reviewer,
        "rows": view.rows,
        "kinds": view.kind_counts(),
        "short": short_id,
    }
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    html = folder / f"classroom-{run_id[:12]}.html"
    html.write_text(render_template(_TEMPLATES, "report.html.jinja", **context), encoding="utf-8")
    return ClassroomReport(html, view, plots)

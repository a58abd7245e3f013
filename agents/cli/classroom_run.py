"""Running a classroom from the command line (``lyceum classroom`` and ``lyceum demo``): the
live transcript, the stored run, the HTML report and the summary read back from the store."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from agents.classroom import (
    ClassroomConfig,
    ClassroomReport,
    classroom_kg,
    lesson_script,
    report_label,
    run_classroom,
    write_classroom_report,
)
from agents.cli.options import output_error, writable_folder
from agents.cli.render import render_message
from agents.runtime import Observer, Runtime
from agents.store import SqlRunStore, resolve_db_url
from protocols import Event, LessonStep, Mastery, MessageSent, Plan, RunStarted, Thought, UserError
from protocols.secrets import mask_db_url
from protocols.sql import parse_db_url
from protocols.text import short_id

__all__ = ["ClassroomOutcome", "classroom_printer", "run_and_report"]


def _check(config: ClassroomConfig) -> None:
    """Fail before anything runs or is stored: an unknown lesson, a key variable that is
    not set."""
    lesson_script(classroom_kg(config), config.lesson)
    if config.model is not None:
        config.model.api_key()


def classroom_printer(console: Console, *, quiet: bool, think: bool) -> tuple[Observer, list[str]]:
    """An observer printing a classroom's messages as they are sent (a rule per lesson
    step, quiz scores, the teacher's Think/Plan only with ``think``; nothing when
    ``quiet``), and the list it puts the run id in when the run starts."""
    run_ids: list[str] = []

    def show(event: Event) -> None:
        if isinstance(event, RunStarted):
            run_ids.append(event.run_id)
        if quiet or not isinstance(event, MessageSent):
            return
        message = event.message
        match message:
            case LessonStep():
                skill = f" / {short_id(message.skill)}" if message.skill else ""
                title = f"step {message.index}: {message.step} {short_id(message.concept)}{skill}"
                console.rule(Text(title), style="dim")
                return
            case Thought() | Plan() if not think:
                return
            case Mastery(source=source) if source != "quiz" and not think:
                return
        console.print("  " + render_message(message), markup=False, highlight=False)

    return show, run_ids


def _summary(console: Console, report: ClassroomReport, config: ClassroomConfig) -> None:
    profiles = {s.name: s.profile for s in config.students}
    table = Table(title="Classroom mastery (simulated students: a simulation, not LLMs)")
    for col in ("student", "profile", "quizzes", "teacher's estimate", "simulated truth"):
        table.add_column(col)
    for row in report.view.summary():
        table.add_row(
            Text(row.student),
            profiles.get(row.student, "human"),
            " → ".join(f"{q:.2f}" for q in row.quizzes) or "-",
            "-" if row.estimate is None else f"{row.estimate:.2f}",
            "-" if row.truth is None else f"{row.truth:.2f}",
        )
    console.print(table)
    verdicts = report.view.verdicts()
    if config.reviewer:
        console.print(
            f"Reviewer: {verdicts['approved']} approved, "
            f"{verdicts['changes requested']} changes requested."
        )


@dataclass(frozen=True)
class ClassroomOutcome:
    """What ``run_and_report`` did: the run, its status and its report."""

    run_id: str
    status: str
    report: ClassroomReport


def _write(
    store: SqlRunStore, run_id: str, config: ClassroomConfig, out: Path, status: str
) -> ClassroomReport:
    messages = store.messages(run_id)
    try:
        return write_classroom_report(messages, config, run_id, out, status=status)
    except ImportError as exc:
        raise UserError(f"{exc}; the run is saved as {run_id[:12]}") from None
    except OSError as exc:
        raise output_error(out / f"classroom-{run_id[:12]}.html", exc) from None


def run_and_report(
    config: ClassroomConfig,
    *,
    db: str | None,
    out: Path,
    console: Console,
    quiet: bool = False,
    think: bool = False,
    tracer_provider: Any = None,
) -> ClassroomOutcome:
    """Run the classroom with a live transcript on ``console``, store it in ``db``, write
    its report into ``out`` and print a summary.

    Raises:
        UserError: A bad lesson or key variable (before anything runs), a report that
            cannot be written, or a run that ended with an error (its report is written
            first). Ctrl-C leaves the run stored as interrupted, its report written.
    """
    _check(config)
    parse_db_url(resolve_db_url(db), "run store")  # a bad --db fails before --out is made
    writable_folder(out)
    store = SqlRunStore(db)
    observer, run_ids = classroom_printer(console, quiet=quiet, think=think)
    console.print(f"[bold yellow]{report_label(config)}[/]", highlight=False)
    people = f"{len(config.students)} simulated students" + (" and 1 human" if config.human else "")
    console.rule(
        Text(f"classroom: {config.lesson}, {people}, {config.turns} turns (seed {config.seed})")
    )
    try:
        runtime = Runtime(store, tracer_provider=tracer_provider)
        result = asyncio.run(run_classroom(config, runtime=runtime, observer=observer))
    except KeyboardInterrupt:
        if not run_ids:
            raise
        report = _write(store, run_ids[0], config, out, "interrupted")
        raise UserError(
            f"interrupted: run {run_ids[0][:12]} is saved as interrupted; its report so far "
            f"is {report.html}"
        ) from None
    report = _write(store, result.run_id, config, out, result.status)
    _summary(console, report, config)
    console.print(f"Report: {report.html}", markup=False, highlight=False)
    ended = result.status if result.status == "error" else f"{result.status}: {result.detail}"
    console.print(
        f"Run saved to {mask_db_url(resolve_db_url(db))} as {result.run_id[:12]} ({ended}); "
        f"`lyceum runs show {result.run_id[:12]}` shows it.",
        markup=False,
        highlight=False,
    )
    if result.status == "error":
        raise UserError(f"the classroom stopped with an error: {result.detail}")
    return ClassroomOutcome(result.run_id, result.status, report)

"""``lyceum classroom``: run a classroom (MAIC / SimClass) with a live transcript, persist it
as a run, and write its HTML report with the mastery plots. ``lyceum demo`` runs one too."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from rich.text import Text

from agents.classroom import (
    ClassroomConfig,
    ClassroomReport,
    classroom_kg,
    lesson_script,
    load_classroom_config,
    report_label,
    roster,
    run_classroom,
    write_classroom_report,
)
from agents.cli.options import db_option, make_console, output_error, writable_folder
from agents.cli.render import render_message
from agents.runtime import Observer, Runtime
from agents.store import SqlRunStore, resolve_db_url
from protocols import (
    Event,
    LessonStep,
    Mastery,
    MessageSent,
    Plan,
    RunStarted,
    Thought,
    UserError,
)
from protocols.errors import shorten
from protocols.secrets import mask_db_url
from protocols.sql import parse_db_url
from protocols.text import short_id

__all__ = [
    "DEFAULT_OUT",
    "ClassroomOutcome",
    "build_config",
    "classroom",
    "classroom_printer",
    "run_and_report",
]

DEFAULT_OUT = Path("lyceum-reports")
"""Where reports go unless ``--out`` says otherwise."""

_OPTIONS = {
    "lesson": "--lesson",
    "students": "--students",
    "turns": "--turns",
    "seed": "--seed",
    "reviewer": "--reviewer",
    "model.base_url": "--model",
    "model.model": "--model-name",
    "model.api_key_env": "--api-key-env",
}


def _invalid(exc: ValidationError, source: Path | None) -> UserError:
    first = exc.errors(include_url=False)[0]
    field = ".".join(str(p) for p in first["loc"])
    where = _OPTIONS.get(field, field)
    got = f" (got {shorten(first['input'])})" if "input" in first else ""
    origin = f" (with the config {source})" if source else ""
    return UserError(f"{where}: {first['msg']}{got}{origin}")


def build_config(
    path: Path | None = None,
    *,
    lesson: str | None = None,
    students: int | None = None,
    turns: int | None = None,
    seed: int | None = None,
    reviewer: bool | None = None,
    model: str | None = None,
    model_name: str | None = None,
    api_key_env: str | None = None,
) -> ClassroomConfig:
    """The classroom the options describe: the ``path`` config file (else the defaults),
    with each option that is given (not None) replacing its field.

    Raises:
        ConfigError: The config file is invalid.
        UserError: An option is invalid, or ``--model`` comes without ``--model-name``.
    """
    if (model is None) != (model_name is None):
        raise UserError(
            "--model URL and --model-name NAME go together: the server's URL (up to /v1) "
            "and the model it serves"
        )
    if api_key_env is not None and model is None:
        raise UserError("--api-key-env names the key of --model; give --model and --model-name")
    base = load_classroom_config(path) if path is not None else ClassroomConfig()
    data: dict[str, Any] = base.model_dump()
    given = {"lesson": lesson, "turns": turns, "seed": seed, "reviewer": reviewer}
    data.update({k: v for k, v in given.items() if v is not None})
    if students is not None:
        data["students"] = [s.model_dump() for s in roster(students)]
    if model is not None:
        data["model"] = {"base_url": model, "model": model_name, "api_key_env": api_key_env}
    try:
        return ClassroomConfig.model_validate(data)
    except ValidationError as exc:
        raise _invalid(exc, path) from None


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
        result = asyncio.run(run_classroom(config, runtime=Runtime(store), observer=observer))
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


@click.command()
@click.option(
    "--lesson", default=None, metavar="NAME", help="The concept to teach (default: fractions)."
)
@click.option(
    "--students",
    type=click.IntRange(1, 64),
    default=None,
    help="How many simulated students (default 4; profiles novice, average, overconfident, "
    "strong, in turn).",
)
@click.option(
    "--turns",
    type=click.IntRange(1, 10_000),
    default=None,
    help="How many times the director gives someone the floor (default 40).",
)
@click.option(
    "--model",
    default=None,
    metavar="URL",
    help="An OpenAI-compatible endpoint (up to /v1): the teacher, the teaching assistant "
    "and the classmates run "
    "on an LLM there. Without it every mind is simulated.",
)
@click.option("--model-name", default=None, metavar="NAME", help="The model --model serves.")
@click.option(
    "--api-key-env",
    default=None,
    metavar="VAR",
    help="The environment variable holding --model's key (never the key itself).",
)
@click.option(
    "--reviewer/--no-reviewer",
    default=None,
    help="A reviewer checks the teacher's explanations before the students hear them.",
)
@click.option("--seed", type=click.IntRange(0, 10**9), default=None, help="The run's seed.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A classroom YAML file; the options above override it.",
)
@db_option
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_OUT,
    show_default=True,
    help="The folder the HTML report is written to.",
)
@click.option("--quiet", is_flag=True, help="Print only the summary, not the transcript.")
@click.option(
    "--think",
    is_flag=True,
    help="Also print each persona's Think and Plan and every mastery estimate.",
)
def classroom(
    lesson: str | None,
    students: int | None,
    turns: int | None,
    model: str | None,
    model_name: str | None,
    api_key_env: str | None,
    reviewer: bool | None,
    seed: int | None,
    config_path: Path | None,
    db: str | None,
    out: Path,
    quiet: bool,
    think: bool,
) -> None:
    """Run a classroom: a director walks a lesson script from the knowledge graph, giving
    the floor to the teacher, the teaching assistant, the four classmates and the students;
    quizzes measure each student's mastery. Streams the transcript, stores the run and
    writes an HTML report with the mastery plots.

    Without --model every mind is simulated (labelled SIMULATION); with it the teacher, the
    teaching assistant and the classmates run on an LLMMind over that endpoint. The
    students are simulated learners.
    """
    config = build_config(
        config_path,
        lesson=lesson,
        students=students,
        turns=turns,
        seed=seed,
        reviewer=reviewer,
        model=model,
        model_name=model_name,
        api_key_env=api_key_env,
    )
    run_and_report(config, db=db, out=out, console=make_console(), quiet=quiet, think=think)

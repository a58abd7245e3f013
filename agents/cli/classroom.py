"""``lyceum classroom``: its options, the config they build (over a config file), and the
command; the run itself is ``agents.cli.classroom_run``, which ``lyceum demo`` uses too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from agents.classroom import ClassroomConfig, load_classroom_config, roster
from agents.cli.classroom_batch import batch_only, batch_options, build_batch, run_batch_command
from agents.cli.classroom_run import run_and_report
from agents.cli.options import db_option, make_console, otel_option, tracer_provider
from protocols import UserError
from protocols.config import error_message
from protocols.errors import shorten

__all__ = ["DEFAULT_OUT", "build_config", "classroom"]

DEFAULT_OUT = Path("lyceum-reports")
"""Where reports go unless ``--out`` says otherwise."""

_OPTIONS = {
    "lesson": "--lesson",
    "students": "--students",
    "turns": "--turns",
    "seed": "--seed",
    "reviewer": "--reviewer",
    "human": "--human",
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
    return UserError(f"{where}: {error_message(first)}{got}{origin}")


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
    human: str | None = None,
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
    given = {
        "lesson": lesson,
        "turns": turns,
        "seed": seed,
        "reviewer": reviewer,
        "human": human,
    }
    data.update({k: v for k, v in given.items() if v is not None})
    if students is not None:
        data["students"] = [s.model_dump() for s in roster(students)]
    if model is not None:
        data["model"] = {"base_url": model, "model": model_name, "api_key_env": api_key_env}
    try:
        return ClassroomConfig.model_validate(data)
    except ValidationError as exc:
        raise _invalid(exc, path) from None


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
    "--human",
    default=None,
    metavar="NAME",
    help="Join the lesson as a real student called NAME: answer its questions here.",
)
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
@otel_option
@batch_options
def classroom(
    lesson: str | None,
    students: int | None,
    turns: int | None,
    model: str | None,
    model_name: str | None,
    api_key_env: str | None,
    reviewer: bool | None,
    seed: int | None,
    human: str | None,
    config_path: Path | None,
    db: str | None,
    out: Path,
    quiet: bool,
    think: bool,
    otel: bool,
    batch: bool,
    batch_config: Path | None,
    lessons: str | None,
    profiles: str | None,
    seeds: str | None,
    executor: str,
    address: str | None,
    concurrency: int,
    no_progress: bool,
) -> None:
    """Run a classroom: a director walks a lesson script from the knowledge graph, giving
    the floor to the teacher, the teaching assistant, the four classmates and the students;
    quizzes measure each student's mastery. Streams the transcript, stores the run and
    writes an HTML report with the mastery plots.

    Without --model every mind is simulated (labelled SIMULATION); with it the teacher, the
    teaching assistant and the classmates run on an LLMMind over that endpoint. The
    students are simulated learners.

    With --batch it runs a classroom per lesson × profile × seed instead (on --executor,
    --concurrency at a time; Ray at --address), stores each as a run, skips those the store
    already holds, and writes a summary table, CSV and plot into --out.
    """
    batch_only(click.get_current_context())
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
        human=human,
    )
    if batch:
        run_batch_command(
            build_batch(
                config,
                batch_config,
                lessons=lessons,
                profiles=profiles,
                seeds=seeds,
                students=students,
            ),
            db=db,
            out=out,
            executor=executor,
            address=address,
            concurrency=concurrency,
            progress=not no_progress,
            console=make_console(),
            otel=otel,
        )
        return
    run_and_report(
        config,
        db=db,
        out=out,
        console=make_console(),
        quiet=quiet,
        think=think,
        tracer_provider=tracer_provider(otel),
    )

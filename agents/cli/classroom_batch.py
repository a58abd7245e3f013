"""``lyceum classroom --batch``: a batch of classrooms (lessons × class profiles × seeds) run
through the evaluation runner on a local or Ray executor, resumed from the store, and
summarised as a table, a CSV file and a plot."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from agents.classroom import ClassroomConfig
from agents.cli.options import executor_options, output_error, writable_folder
from agents.eval.classroom_batch import ClassroomBatch, load_batch_config
from agents.eval.classroom_summary import (
    BatchResult,
    batch_figure,
    run_classroom_batch,
    write_batch_csv,
    write_batch_parquet,
)
from agents.eval.executors import make_executor
from protocols import UserError
from protocols.config import error_message
from protocols.secrets import mask_db_url
from protocols.sql import resolve_db_url

__all__ = ["batch_options", "build_batch", "parse_seeds", "run_batch_command"]

_BATCH_OPTIONS = {"lessons": "--lessons", "profiles": "--profiles", "seeds": "--seeds"}


def parse_seeds(spec: str) -> tuple[int, ...]:
    """``"0-3"`` or ``"1,5,9"`` (or both: ``"0-2,7"``) as seeds.

    Raises:
        UserError: Naming the part that is not a seed or a range.
    """
    seeds: list[int] = []
    for part in spec.split(","):
        match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if match is None or (match[2] is not None and int(match[2]) < int(match[1])):
            raise UserError(
                f"--seeds: {part.strip()!r} is not a seed or a range; write 0-9 or 1,5,7"
            )
        low, high = int(match[1]), int(match[2] or match[1])
        if high - low >= 100_000:
            raise UserError(f"--seeds: {part.strip()!r} is over 100000 seeds")
        seeds.extend(range(low, high + 1))
    return tuple(dict.fromkeys(seeds))


def _names(value: str | None) -> tuple[str, ...] | None:
    return None if value is None else tuple(p.strip() for p in value.split(",") if p.strip())


def build_batch(
    base: ClassroomConfig,
    path: Path | None,
    *,
    lessons: str | None,
    profiles: str | None,
    seeds: str | None,
    students: int | None,
) -> ClassroomBatch:
    """The batch of the options: ``path`` (a batch YAML, else one over ``base``), with each
    option given replacing its field.

    Raises:
        ConfigError: The batch file is invalid.
        UserError: An option is invalid.
    """
    data: dict[str, Any] = (
        load_batch_config(path).model_dump() if path is not None else {"base": base.model_dump()}
    )
    given = {
        "lessons": _names(lessons),
        "profiles": _names(profiles),
        "seeds": None if seeds is None else parse_seeds(seeds),
        "students": students,
    }
    data.update({k: v for k, v in given.items() if v is not None})
    try:
        return ClassroomBatch.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in first["loc"])
        where = _BATCH_OPTIONS.get(field, field)
        origin = f" (with the batch file {path})" if path else ""
        raise UserError(f"{where}: {error_message(first)}{origin}") from None


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _table(result: BatchResult) -> Table:
    title = "Classroom batch" + (" (SIMULATION)" if result.simulated else "")
    table = Table(title=title)
    columns = ("lesson", "profile", "seed", "students", "quiz first → last", "estimate gap", "run")
    for col in columns:
        table.add_column(col)
    for r in result.rows:
        table.add_row(
            r.lesson,
            r.profile,
            str(r.seed),
            str(r.students),
            f"{_fmt(r.quiz_before)} → {_fmt(r.quiz_after)}",
            _fmt(r.estimate_gap),
            f"{r.run_id[:12]} ({r.status})",
        )
    return table


def run_batch_command(
    batch: ClassroomBatch,
    *,
    db: str | None,
    out: Path,
    executor: str,
    address: str | None,
    concurrency: int,
    progress: bool,
    console: Console,
    otel: bool = False,
) -> BatchResult:
    """Run the batch (resuming from ``db``), print its table, write the CSV, the Parquet
    table and the plot into ``out``. ``otel`` (``LYCEUM_OTEL`` set; ``--otel`` itself is
    refused by ``batch_only``) only prints that the batch is not traced.

    Raises:
        UserError: Bad options, an unknown lesson, ``--address`` without ``--executor
            ray``, an ``--out`` that cannot be written.
    """
    make_executor(executor, address=address)  # --address without ray: one line, first
    writable_folder(out)
    result = run_classroom_batch(
        batch,
        db=db,
        executor=executor,  # type: ignore[arg-type]
        concurrency=concurrency,
        address=address,
        progress=progress,
    )
    console.print(f"[bold yellow]{result.label}[/]", highlight=False)
    if otel:
        console.print(
            "LYCEUM_OTEL is set, but a batch's classrooms run in executor workers and are "
            "not traced (trace one classroom without --batch)",
            markup=False,
            highlight=False,
        )
    console.print(_table(result))
    stem = f"classroom-batch-{result.sweep.config_hash[:12]}"
    try:
        csv_path = write_batch_csv(result.rows, out / f"{stem}.csv")
    except OSError as exc:
        raise output_error(out / f"{stem}.csv", exc) from None
    written = [str(csv_path)]
    try:
        written.append(str(write_batch_parquet(result.rows, out / f"{stem}.parquet")))
    except ImportError as exc:
        console.print(f"no Parquet table: {exc}", markup=False, highlight=False)
    except OSError as exc:
        raise output_error(out / f"{stem}.parquet", exc) from None
    try:
        figure: Any = batch_figure(result.rows, simulated=result.simulated)
        figure.savefig(out / f"{stem}.png", dpi=100)
        written.append(str(out / f"{stem}.png"))
    except ImportError as exc:
        console.print(f"no plot: {exc}", markup=False, highlight=False)
    console.print(
        f"batch {result.sweep.config_hash[:12]}: {len(result.rows)} classrooms, "
        f"{result.sweep.reused} reused from {mask_db_url(resolve_db_url(db))} (not run again), "
        f"{result.sweep.ran} run, {result.sweep.seconds:.1f} s; wrote {', '.join(written)}",
        markup=False,
        highlight=False,
    )
    return result


def batch_options(fn: Any) -> Any:
    """The options of ``lyceum classroom --batch``."""
    options = [
        click.option(
            "--batch",
            is_flag=True,
            help="Run a batch of classrooms: every lesson × profile × seed (below), resumed "
            "from the store, summarised as a table, CSV and Parquet files and a plot in --out.",
        ),
        click.option(
            "--batch-config",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="A batch YAML file (ClassroomBatch: base, lessons, profiles, seeds, "
            "students); the batch options override it.",
        ),
        click.option("--lessons", default=None, metavar="A,B", help="Batch: lessons to teach."),
        click.option(
            "--profiles",
            default=None,
            metavar="P,Q",
            help="Batch: class profiles (mixed, or one learner profile for every student).",
        ),
        click.option("--seeds", default=None, metavar="0-9", help="Batch: seeds (0-9 or 1,5,7)."),
        *executor_options(units="classrooms", concurrency=8, prefix="Batch: "),
        click.option("--no-progress", is_flag=True, help="Batch: no progress bar."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


_BATCH_ONLY = (
    "batch_config",
    "lessons",
    "profiles",
    "seeds",
    "executor",
    "address",
    "concurrency",
    "no_progress",
)


def batch_only(ctx: click.Context) -> None:
    """Refuse a batch option given without ``--batch``; and ``--human``, ``--seed`` or
    ``--lesson`` with it (a batch has its own).

    Raises:
        UserError: Naming the first such option.
    """
    given = [
        name
        for name in ctx.params
        if ctx.get_parameter_source(name) not in (None, click.core.ParameterSource.DEFAULT)
    ]
    if ctx.params.get("batch"):
        for name in ("human", "seed", "lesson"):
            if name in given:
                plural = {"seed": "--seeds", "lesson": "--lessons"}.get(name)
                fix = f"use {plural}" if plural else "drop it"
                raise UserError(f"--{name} does not fit a batch; {fix}")
        if ctx.get_parameter_source("otel") == click.core.ParameterSource.COMMANDLINE:
            raise UserError(
                "--otel traces one classroom; a batch's classrooms run in executor workers "
                "and are not traced: drop --otel, or trace one classroom without --batch"
            )
        if "batch_config" in given:
            for name in ("config_path", "turns", "reviewer", "model", "model_name", "api_key_env"):
                if name in given:
                    option = "--config" if name == "config_path" else f"--{name.replace('_', '-')}"
                    raise UserError(
                        f"{option} does not go with --batch-config; set it under base: in "
                        "the batch file"
                    )
        return
    for name in _BATCH_ONLY:
        if name in given:
            raise UserError(f"--{name.replace('_', '-')} belongs to a batch; add --batch")

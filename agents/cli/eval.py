"""``lyceum eval``: run a sweep from its config file (``tom``, ``tutoring``, or any task
class with ``run --task``), list stored sweeps, and compare two."""

from __future__ import annotations

import importlib
import inspect
import json
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from agents.cli.options import db_option, executor_options, make_console, writable_folder
from protocols import UserError
from protocols.errors import shorten

__all__ = ["TASKS", "eval_group"]

TASKS = {
    "tom": "agents.eval.tom:ToMTask",
    "tutoring": "agents.eval.tutoring:TutoringTask",
}
"""The task class behind each ``lyceum eval`` sweep command (``module:Class``)."""


def _task_class(spec: str) -> Any:
    module_name, _, name = spec.partition(":")
    if not module_name or not name:
        raise UserError(f"--task {shorten(spec)} must be 'package.module:Class'")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise UserError(
            f"cannot import {module_name!r} for the sweep task {spec!r}: {exc}. Is it "
            "installed (or on PYTHONPATH)?"
        ) from None
    cls = getattr(module, name, None)
    if cls is None or not callable(getattr(cls, "from_config", None)):
        raise UserError(
            f"{spec!r} is not a sweep task class: {module_name} has no {name} with a "
            "from_config(path) classmethod"
        )
    return cls


def load_task(spec: str, config: Path, *, skip_bad: bool) -> Any:
    """The task ``spec`` (``module:Class``) built from its config file.

    Raises:
        UserError: The class cannot be found, or does not take ``skip_bad``.
        ConfigError: The config file is invalid (from the task's ``from_config``).
    """
    cls = _task_class(spec)
    if not skip_bad:
        return cls.from_config(config)
    if "skip_bad" not in inspect.signature(cls.from_config).parameters:
        raise UserError(
            f"{spec}.from_config takes no skip_bad, so --skip-bad cannot reach it; set "
            "skip_bad in the config file's data section instead"
        )
    return cls.from_config(config, skip_bad=True)


def _show_points(console: Any, points: list[dict[str, Any]]) -> None:
    table = Table("strategy", "metric", "budget/k", "mean", "95% CI", "n")
    for p in points:
        at = f"{p['budget']:g}" if p["x"] == "budget" else str(p["k"])
        ci = f"[{p['low']:.3f}, {p['high']:.3f}]"
        table.add_row(p["strategy"], p["metric"], at, f"{p['mean']:.3f}", ci, str(p.get("n", "")))
    console.print(table)


def run_command(
    spec: str,
    config: Path,
    *,
    db: str | None,
    executor: str,
    address: str | None,
    concurrency: int,
    out: Path | None,
    skip_bad: bool,
    progress: bool,
) -> None:
    """Build the task, run it (resuming), store its curves, and write the outputs."""
    from agents.eval.results import SweepStore

    task = load_task(spec, config, skip_bad=skip_bad)
    if out is not None:
        writable_folder(out)
    with SweepStore(db) as store:
        _run_and_report(task, store, executor, address, concurrency, out, progress)


def _run_and_report(
    task: Any,
    store: Any,
    executor: str,
    address: str | None,
    concurrency: int,
    out: Path | None,
    progress: bool,
) -> None:
    from agents.eval.plots import normalise_points
    from agents.eval.runner import run_sweep

    console = make_console()
    result = run_sweep(
        task,
        store=store,
        executor=executor,  # type: ignore[arg-type]
        concurrency=concurrency,
        address=address,
        progress=progress,
    )
    curves = getattr(task, "curves", None)
    points = normalise_points(curves(result.payloads)) if callable(curves) else []
    store.update_meta(result.config_hash, curves=points)
    kind = result.meta.get("student_kind")
    if kind == "simulated":
        console.print("SIMULATION: simulated students; these numbers describe the simulation.")
    console.print(
        f"sweep {result.config_hash[:12]} ({result.kind}): {len(result.units)} units, "
        f"{result.reused} reused from {store.display_url} (not run again), {result.ran} run, "
        f"{result.seconds:.1f} s"
    )
    _show_points(console, points)
    if out is not None:
        from agents.eval.report import write_report

        report = write_report(task, result, out)
        console.print(f"report: {report.markdown} and {report.html}")


def _sweep_options(fn: Any) -> Any:
    options = [
        click.option(
            "--config",
            "config",
            required=True,
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="The sweep's YAML config file.",
        ),
        *executor_options(units="units", concurrency=32),
        db_option,
        click.option(
            "--out",
            type=click.Path(file_okay=False, path_type=Path),
            default=None,
            help="Write the report, tables and plots into this folder.",
        ),
        click.option("--skip-bad", is_flag=True, help="Skip malformed data records (counted)."),
        click.option("--no-progress", is_flag=True, help="No progress bar."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


@click.group("eval")
def eval_group() -> None:
    """Evaluation sweeps: budgets x strategies x students x seeds, resumable, with reports."""


def _make_sweep_command(name: str, help_text: str, short: str) -> None:
    @eval_group.command(name, help=help_text, short_help=short)
    @_sweep_options
    def command(no_progress: bool, **kwargs: Any) -> None:
        run_command(TASKS[name], progress=not no_progress, **kwargs)


_make_sweep_command(
    "tom",
    "The theory-of-mind intervention sweep (Saha et al. 2023): accuracy vs budget per "
    "strategy. Reruns resume from the store.",
    "The theory-of-mind intervention sweep: accuracy vs budget.",
)
_make_sweep_command(
    "tutoring",
    "MathDial tutoring: success@k and telling@k per teacher policy. Reruns resume.",
    "MathDial tutoring: success@k and telling@k per policy.",
)


@eval_group.command("run", short_help="Run any sweep task class from its config file.")
@click.option("--task", "spec", required=True, help="The task class, 'package.module:Class'.")
@_sweep_options
def eval_run(spec: str, no_progress: bool, **kwargs: Any) -> None:
    """Run any sweep task class (with a from_config(path) classmethod) from its config."""
    run_command(spec, progress=not no_progress, **kwargs)


@eval_group.command("sweeps")
@db_option
def eval_sweeps(db: str | None) -> None:
    """List the sweeps in the store, newest first."""
    from agents.eval.results import SweepStore

    table = Table("sweep", "kind", "students", "units", "updated")
    with SweepStore(db) as store:
        sweeps = store.sweeps()
    for s in sweeps:
        updated = s.updated_at.strftime("%Y-%m-%d %H:%M")
        table.add_row(
            s.config_hash[:12], s.kind, str(s.meta.get("student_kind")), str(s.units), updated
        )
    make_console().print(table)


@eval_group.command("compare")
@click.argument("a")
@click.argument("b")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print the differences as JSON.")
def eval_compare(a: str, b: str, db: str | None, as_json: bool) -> None:
    """Compare two sweeps point by point (B - A). A and B are output folders or stored
    sweeps' config hashes (or unique prefixes)."""
    from dataclasses import asdict

    from agents.eval.compare import compare_points, load_points
    from agents.eval.results import SweepStore

    with SweepStore(db) as store:
        (label_a, points_a), (label_b, points_b) = load_points(a, store), load_points(b, store)
    diffs = compare_points(points_a, points_b)
    if as_json:
        click.echo(json.dumps([asdict(d) for d in diffs], indent=2))
        return

    def num(v: float | None) -> str:
        return "-" if v is None else f"{v:.3f}"

    table = Table(
        "metric",
        "strategy",
        "budget/k",
        "A",
        "B",
        "B - A",
        "CIs overlap",
        title=f"A = {label_a}   B = {label_b}",
    )
    for d in diffs:
        overlap = "-" if d.overlap is None else ("yes" if d.overlap else "NO")
        diff = "-" if d.diff is None else f"{d.diff:+.3f}"
        table.add_row(d.metric, d.strategy, f"{d.at:g}", num(d.a), num(d.b), diff, overlap)
    make_console().print(table)

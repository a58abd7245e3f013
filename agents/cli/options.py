"""Options and output shared by the ``lyceum`` commands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from protocols import UserError
from protocols.errors import shorten

__all__ = [
    "PIPE_WIDTH",
    "db_option",
    "executor_options",
    "make_console",
    "make_progress",
    "otel_option",
    "output_error",
    "tracer_provider",
    "writable_folder",
]

PIPE_WIDTH = 120
"""Width of command output that goes to a pipe or a file, whatever ``COLUMNS`` says."""

db_option = click.option(
    "--db",
    envvar="LYCEUM_DB",
    default=None,
    show_envvar=True,
    help="Store: a SQLite path or a SQLAlchemy URL (default: sqlite:///lyceum.db).",
)

otel_option = click.option(
    "--otel",
    is_flag=True,
    envvar="LYCEUM_OTEL",
    show_envvar=True,
    help="Trace runs, agent turns and model calls as OpenTelemetry spans, with the globally "
    "configured tracer provider (run under opentelemetry-instrument); needs lyceum[otel].",
)


def tracer_provider(otel: bool) -> Any:
    """The global OpenTelemetry tracer provider when ``--otel`` is given, else None.

    Raises:
        UserError: ``--otel`` without OpenTelemetry installed.
    """
    if not otel:
        return None
    try:
        from opentelemetry import trace
    except ImportError:
        raise UserError(
            "--otel needs OpenTelemetry: pip install 'lyceum[otel]' (and configure an "
            "exporter, e.g. with opentelemetry-instrument; see docs/telemetry.md)"
        ) from None
    provider = trace.get_tracer_provider()
    if isinstance(provider, trace.ProxyTracerProvider):
        # Nothing set a provider: the spans would go nowhere, so say so instead of
        # pretending to trace.
        click.echo(
            "warning: --otel: no OpenTelemetry tracer provider is configured, so no spans "
            "are exported; run under opentelemetry-instrument (docs/telemetry.md)",
            err=True,
        )
    return provider


def executor_options(*, units: str, concurrency: int, prefix: str = "") -> list[Any]:
    """``--executor``, ``--address`` and ``--concurrency`` (``agents.eval.executors``) for a
    command that runs ``units`` (``"units"``, ``"classrooms"``); ``prefix`` starts each
    help text."""
    return [
        click.option(
            "--executor",
            type=click.Choice(["local", "process", "ray"]),
            default="local",
            show_default=True,
            help=f"{prefix}Run {units} in this process (asyncio), in a local process pool, "
            "or on Ray.",
        ),
        click.option(
            "--address", default=None, help=f"{prefix}Ray cluster address (with --executor ray)."
        ),
        click.option(
            "--concurrency",
            type=click.IntRange(1, 100_000),
            default=concurrency,
            show_default=True,
            help=f"{prefix}Most {units} in flight at once.",
        ),
    ]


def make_console(*, stderr: bool = False) -> Console:
    """The console every command prints through.

    Rich never wraps a line of text (``soft_wrap``): a database path, a run id or a count
    stays on one line, and a terminal wraps what does not fit. Tables fit the terminal's
    width; into a pipe or a file the width is fixed at :data:`PIPE_WIDTH`, so scripts and
    tests read the same output whatever ``COLUMNS`` or ``TERM`` the caller had.
    """
    terminal = Console(stderr=stderr).is_terminal
    return Console(stderr=stderr, soft_wrap=True, width=None if terminal else PIPE_WIDTH)


def make_progress(console: Console | None = None) -> Progress:
    """A progress bar (description, bar, done/total, elapsed) on the command's console."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console or make_console(),
    )


def output_error(path: Path, exc: OSError) -> UserError:
    """The one-line error for an output file that cannot be written."""
    try:
        missing = not path.parent.exists()
    except OSError:
        missing = False
    shown = shorten(str(path), 300)
    if missing:
        return UserError(
            f"cannot write {shown}: the folder {shorten(str(path.parent), 300)} does not "
            "exist; create it first or choose another path"
        )
    return UserError(f"cannot write {shown}: {exc.strerror}; choose another path")


def writable_folder(out: Path) -> None:
    """Make ``--out`` now, so a folder that cannot be written is an error before the
    command runs, not a traceback after it.

    Raises:
        UserError: The folder cannot be made or written to.
    """
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".lyceum-write-test"
        probe.write_text("")
        probe.unlink()
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise UserError(
            f"--out {shorten(str(out), 120)}: cannot write there ({reason}); name a folder "
            "you can write to"
        ) from None

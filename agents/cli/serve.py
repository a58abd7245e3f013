"""``lyceum serve --experts experts.yaml``: serve the expert models an experts file names,
on vLLM or ``transformers serve``, supervised until Ctrl-C (docs/serving.md)."""

from __future__ import annotations

import shlex
from datetime import datetime
from pathlib import Path
from typing import Literal

import click
from rich.console import Console
from rich.text import Text

from agents.cli.options import make_console
from agents.serve.plan import ServePlan, plan_serving
from agents.serve.run import run_plan

__all__ = ["serve", "show_commands"]


def show_commands(plan: ServePlan) -> list[str]:
    """The plan's server commands as shell lines (environment first), notes as comments."""
    lines = [f"# {note}" for note in plan.notes]
    for server in plan.servers:
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(server.env.items()))
        lines.append(f"{env} {shlex.join(server.argv)}".strip())
    return lines


@click.command()
@click.option(
    "--experts",
    "path",
    type=click.Path(dir_okay=False, path_type=Path),
    default="experts.yaml",
    show_default=True,
    help="The experts YAML file: its serve: block and the experts' serve: entries.",
)
@click.option("--host", default=None, help="Listen on this interface (overrides serve.host).")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=None, help="Port (overrides serve.port)."
)
@click.option(
    "--backend",
    type=click.Choice(["auto", "vllm", "transformers"]),
    default=None,
    help="Override serve.backend; auto: vLLM on a CUDA GPU when installed, else transformers.",
)
@click.option(
    "--log-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the servers' logs go (default: serve-logs beside the experts file).",
)
@click.option(
    "--startup-timeout",
    type=click.FloatRange(1, 3600),
    default=600.0,
    show_default=True,
    help="Seconds a server may take to load its model and answer /health.",
)
@click.option(
    "--print-command", is_flag=True, help="Print the server command(s) and exit; start nothing."
)
def serve(
    path: Path,
    host: str | None,
    port: int | None,
    backend: Literal["auto", "vllm", "transformers"] | None,
    log_dir: Path | None,
    startup_timeout: float,
    print_command: bool,
) -> None:
    """Serve the experts' models on existing servers and register their endpoints.

    Every folder is checked before anything starts. The servers are health-checked,
    restarted when they die (at most 3 times in 5 minutes), and stopped with Ctrl-C or
    SIGTERM. While they run, EXPERTS.served.yaml (beside the file) points each expert at
    its server: `lyceum experts check --experts` and the meta-agent read it.
    """
    plan = plan_serving(path, backend=backend, host=host, port=port, write=not print_command)
    if print_command:
        for line in show_commands(plan):
            click.echo(line)
        return
    console = make_console()
    for note in plan.notes:
        _status(console, note)
    run_plan(
        plan,
        log_dir=log_dir or path.parent / "serve-logs",
        startup_timeout=startup_timeout,
        on_event=lambda line: _status(console, line),
    )


def _status(console: Console, line: str) -> None:
    stamp = datetime.now().strftime("%H:%M:%S")
    console.print(Text.assemble((stamp, "dim"), " ", line), highlight=False)

"""``lyceum ui``: start the Streamlit app (the ``ui`` package) on a local port.

The command finds the app's file without importing ``ui`` (core packages never import
it), and passes the store to the app as ``LYCEUM_DB``.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import sys
from pathlib import Path

import click

from agents.cli.options import db_option
from protocols import UserError
from protocols.secrets import mask_db_url

__all__ = ["app_path", "streamlit_command", "ui"]


def app_path() -> Path:
    """The app's main script (``ui/app.py``), found without importing the package."""
    spec = importlib.util.find_spec("ui")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("the lyceum ui package is not installed; reinstall lyceum")
    return Path(next(iter(spec.submodule_search_locations))) / "app.py"


def streamlit_command(port: int, address: str, *, browser: bool) -> list[str]:
    """The ``streamlit run`` command line for the app: headless unless ``browser``, no
    usage statistics, and no stack traces shown to users (errors are shown as boxes)."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app_path()),
        "--server.port",
        str(port),
        "--server.address",
        address,
        "--server.headless",
        "false" if browser else "true",
        "--browser.gatherUsageStats",
        "false",
        "--client.showErrorDetails",
        "none",
        "--client.toolbarMode",
        "minimal",
    ]


@click.command()
@db_option
@click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True)
@click.option(
    "--address",
    default="127.0.0.1",
    show_default=True,
    help="The interface to listen on (0.0.0.0 to share it on the network).",
)
@click.option("--browser/--no-browser", default=False, help="Open a browser tab.")
@click.option(
    "--print-command",
    is_flag=True,
    help="Print the command that would start the app (and its LYCEUM_DB), and exit.",
)
def ui(db: str | None, port: int, address: str, browser: bool, print_command: bool) -> None:
    """Start the lyceum app (Streamlit) at http://ADDRESS:PORT; Ctrl-C stops it.

    The command becomes the Streamlit server (it is not a parent waiting on one), so
    stopping it stops the server.
    """
    if importlib.util.find_spec("streamlit") is None:
        raise UserError("lyceum ui needs Streamlit: pip install 'lyceum[ui]'")
    env = dict(os.environ)
    if db is not None:
        env["LYCEUM_DB"] = db
    if print_command:
        shown = " ".join(
            shlex.quote(part) for part in streamlit_command(port, address, browser=browser)
        )
        where = f"LYCEUM_DB={shlex.quote(mask_db_url(db))} " if db is not None else ""
        click.echo(where + shown)
        return
    click.echo(f"lyceum ui at http://{address}:{port} (Ctrl-C stops it)")
    sys.stdout.flush()
    command = streamlit_command(port, address, browser=browser)
    # Streamlit takes this process's place (no child to orphan): a SIGTERM from a process
    # manager, or a parent-death signal set by whoever started `lyceum ui`, reaches the
    # server itself.
    os.execve(command[0], command, env)

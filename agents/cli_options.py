"""Options shared by the ``lyceum`` commands."""

from __future__ import annotations

from pathlib import Path

import click

from protocols import UserError
from protocols.errors import shorten

__all__ = ["db_option", "output_error"]

db_option = click.option(
    "--db",
    envvar="LYCEUM_DB",
    default=None,
    show_envvar=True,
    help="Store: a SQLite path or a SQLAlchemy URL (default: sqlite:///lyceum.db).",
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

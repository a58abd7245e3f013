"""Options shared by the ``lyceum`` commands."""

from __future__ import annotations

import click

__all__ = ["db_option"]

db_option = click.option(
    "--db",
    envvar="LYCEUM_DB",
    default=None,
    show_envvar=True,
    help="Store: a SQLite path or a SQLAlchemy URL (default: sqlite:///lyceum.db).",
)

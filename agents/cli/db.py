"""``lyceum db status|upgrade``: where a store's schema stands in a database, and its
Alembic migrations run on demand (opening a store for writing runs them too; a
deployment runs them once, before its workers start)."""

from __future__ import annotations

import click
from rich.table import Table
from rich.text import Text

from agents.cli.options import db_option, make_console
from agents.store import resolve_db_url
from agents.store.store import RUN_STORE
from knowledge_graph.sql import GRAPH_STORE
from protocols.secrets import mask_db_url
from protocols.sql import SchemaRevision, StoreSchema, schema_revision, upgrade_schema

__all__ = ["db"]

SCHEMAS: dict[str, StoreSchema] = {"runs": RUN_STORE, "graph": GRAPH_STORE}
"""The stores a lyceum database may hold: the run store (runs, messages, events, model
calls and evaluation sweeps) and the knowledge-graph store."""

store_option = click.option(
    "--store",
    "store",
    type=click.Choice(sorted(SCHEMAS)),
    default="runs",
    show_default=True,
    help="Which store the database holds: runs (runs, messages, events, model calls, "
    "sweeps) or graph (a knowledge graph, as `lyceum kg build --db` writes it).",
)


def _revisions(revisions: tuple[str, ...]) -> str:
    return ", ".join(revisions) or "none"


@click.group()
def db() -> None:
    """Show and upgrade the schema of a lyceum database."""


@db.command("status")
@db_option
@store_option
def db_status(db: str | None, store: str) -> None:
    """Where the store's schema stands (reads only; creates nothing)."""
    url = resolve_db_url(db)
    found = schema_revision(url, SCHEMAS[store])
    table = Table(title=f"lyceum {found.schema} in {mask_db_url(url)}")
    for col in ("store", "at revision", "newest", "state"):
        table.add_column(col)
    table.add_row(store, _revisions(found.current), _revisions(found.head), _state(found))
    make_console().print(table)


def _state(found: SchemaRevision) -> Text:
    if found.up_to_date:
        return Text("up to date", style="green")
    if not found.current:
        return Text("absent (`lyceum db upgrade` creates it)", style="yellow")
    return Text("behind (`lyceum db upgrade` upgrades it)", style="yellow")


@db.command("upgrade")
@db_option
@store_option
def db_upgrade(db: str | None, store: str) -> None:
    """Create or upgrade the store's schema to the newest revision (Alembic). Safe to run
    again, and while other processes use the database: one migrator at a time."""
    url = resolve_db_url(db)
    before, after = upgrade_schema(url, SCHEMAS[store])
    change = (
        "already up to date"
        if before.current == after.current
        else f"{_revisions(before.current)} → {_revisions(after.current)}"
    )
    click.echo(f"{after.schema}: {change} ({mask_db_url(url)})")

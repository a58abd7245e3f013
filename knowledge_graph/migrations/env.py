"""Alembic environment of the graph store: its own version table, so it can share a
database with the run store."""

from __future__ import annotations

from alembic import context

from knowledge_graph.sql import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,
    version_table="kg_alembic_version",
)
with context.begin_transaction():
    context.run_migrations()

"""Evaluation sweeps and their units (``agents.eval.runner``).

A sweep is keyed by its task's config hash; each finished unit is stored under
(config hash, kind, item, strategy, budget, seed) as it finishes, so a rerun skips it.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sweeps",
        sa.Column("config_hash", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("meta", sa.JSON(), nullable=False),
    )
    op.create_table(
        "sweep_units",
        sa.Column(
            "config_hash",
            sa.String(64),
            sa.ForeignKey("sweeps.config_hash", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("item", sa.String(255), primary_key=True),
        sa.Column("strategy", sa.String(64), primary_key=True),
        sa.Column("budget", sa.Float(), primary_key=True),
        sa.Column("seed", sa.Integer(), primary_key=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sweep_units")
    op.drop_table("sweeps")

"""Initial graph-store schema: nodes, labels, edges and their indexes.

Revision ID: kg0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "kg0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "kg_nodes",
        sa.Column("id", sa.String(512), primary_key=True),
        sa.Column("properties", JSON, nullable=False),
    )
    op.create_table(
        "kg_labels",
        sa.Column("label", sa.String(128), primary_key=True),
        sa.Column(
            "node_id",
            sa.String(512),
            sa.ForeignKey("kg_nodes.id", ondelete="CASCADE"),
            primary_key=True,
        ),
    )
    op.create_index("ix_kg_labels_node", "kg_labels", ["node_id"])
    op.create_table(
        "kg_edges",
        sa.Column(
            "source",
            sa.String(512),
            sa.ForeignKey("kg_nodes.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("type", sa.String(128), primary_key=True),
        sa.Column(
            "target",
            sa.String(512),
            sa.ForeignKey("kg_nodes.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("properties", JSON, nullable=False),
    )
    op.create_index("ix_kg_edges_target_type", "kg_edges", ["target", "type"])
    op.create_index("ix_kg_edges_type", "kg_edges", ["type"])


def downgrade() -> None:
    op.drop_table("kg_edges")
    op.drop_table("kg_labels")
    op.drop_table("kg_nodes")

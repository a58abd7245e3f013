"""Model calls record whether their token counts were estimated.

A server that reports no usage (llama.cpp streams) has its tokens counted by the client
or estimated; ``usage_estimated`` says so. Rows written before this revision were the
server's own counts, or zeros when it sent none, and are marked ``false``.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("model_calls") as batch:
        batch.add_column(
            sa.Column("usage_estimated", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("model_calls") as batch:
        batch.drop_column("usage_estimated")

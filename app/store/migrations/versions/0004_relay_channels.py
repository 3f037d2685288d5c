"""Relay channels: channel kinds and relayed customers (issue 9).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Batch mode: SQLite alters a table by copying it; PostgreSQL runs plain ALTERs.
    # Every complaint stored before relay channels existed came from a customer channel.
    with op.batch_alter_table("complaints") as batch:
        batch.add_column(
            sa.Column("channel_kind", sa.String(16), nullable=False, server_default="customer")
        )
        batch.add_column(sa.Column("relayed", sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("complaints") as batch:
        batch.drop_column("relayed")
        batch.drop_column("channel_kind")

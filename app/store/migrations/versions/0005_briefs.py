"""Stored escalation briefs (issue 10).

One row per thread (channel + thread ts), replaced when the thread changes
or someone presses Refresh; ``last_ts`` is the thread's newest message when
it was briefed.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "briefs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("thread_ts", sa.String(32), nullable=False),
        sa.Column("last_ts", sa.String(32), nullable=False),
        sa.Column("message_count", sa.Integer(), nullable=False),
        sa.Column("brief", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("refs", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("prompt_version", sa.String(128), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_briefs")),
        sa.UniqueConstraint("channel_id", "thread_ts", name="uq_briefs_channel_thread"),
    )
    op.create_index(op.f("ix_briefs_created_at"), "briefs", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_briefs_created_at"), table_name="briefs")
    op.drop_table("briefs")

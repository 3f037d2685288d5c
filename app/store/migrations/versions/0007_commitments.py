"""Commitments and their reminders (issue 11); drafts record how much agents edited them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Batch mode: SQLite alters a table by copying it; PostgreSQL runs plain ALTERs.
    with op.batch_alter_table("drafts") as batch:
        batch.add_column(sa.Column("edit_chars", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("edit_ratio", sa.Float(), nullable=True))
    op.create_table(
        "commitments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.String(64), nullable=False),
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("thread_ts", sa.String(32), nullable=False),
        sa.Column("reply_ts", sa.String(32), nullable=False),
        sa.Column("phrase", sa.Text(), nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("remind_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("follow_up_complaint_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_commitments"),
        sa.UniqueConstraint("draft_id", "position", name="uq_commitments_draft_position"),
    )
    op.create_index("ix_commitments_due", "commitments", ["reminded_at", "remind_at"])


def downgrade() -> None:
    op.drop_index("ix_commitments_due", table_name="commitments")
    op.drop_table("commitments")
    with op.batch_alter_table("drafts") as batch:
        batch.drop_column("edit_ratio")
        batch.drop_column("edit_chars")

"""The initial schema: events, complaints, jobs, drafts, decisions.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JOB_STATUSES = ("queued", "running", "done", "failed")
DRAFT_STATUSES = ("drafting", "pending", "sending", "sent", "discarded", "superseded", "failed")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    utc = sa.DateTime(timezone=True)
    op.create_table(
        "slack_events",
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("received_at", utc, nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_slack_events"),
    )
    op.create_index("ix_slack_events_received_at", "slack_events", ["received_at"])

    op.create_table(
        "complaints",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("team_id", sa.String(64), nullable=False),
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("message_ts", sa.String(32), nullable=False),
        sa.Column("thread_ts", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("user_name", sa.String(255), nullable=False),
        sa.Column("permalink", sa.Text(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=True),
        sa.Column("guidance", sa.Text(), nullable=True),
        sa.Column("created_at", utc, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_complaints"),
        sa.UniqueConstraint("channel_id", "message_ts", "source",
                            name="uq_complaints_channel_message_source"),
    )
    op.create_index("ix_complaints_thread", "complaints", ["channel_id", "thread_ts"])
    op.create_index("ix_complaints_created_at", "complaints", ["created_at"])

    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=True),
        sa.Column("draft_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", utc, nullable=False),
        sa.Column("lease_owner", sa.String(255), nullable=True),
        sa.Column("lease_until", utc, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", utc, nullable=False),
        sa.Column("updated_at", utc, nullable=False),
        sa.CheckConstraint(_in("status", JOB_STATUSES), name="ck_jobs_status"),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"],
                                name="fk_jobs_complaint_id_complaints"),
        sa.PrimaryKeyConstraint("id", name="pk_jobs"),
    )
    op.create_index("ix_jobs_claim", "jobs", ["status", "not_before"])

    op.create_table(
        "drafts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("final_text", sa.Text(), nullable=True),
        sa.Column("offers", sa.JSON(), nullable=False),
        sa.Column("checklist", sa.JSON(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("triage", sa.JSON(), nullable=True),
        sa.Column("follow_up", sa.Text(), nullable=False),
        sa.Column("tone", sa.String(32), nullable=True),
        sa.Column("prompt_version", sa.String(128), nullable=False),
        sa.Column("model", sa.String(255), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("llm_ms", sa.Float(), nullable=False),
        sa.Column("card_channel", sa.String(64), nullable=True),
        sa.Column("card_ts", sa.String(32), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decided_at", utc, nullable=True),
        sa.Column("discard_reason", sa.Text(), nullable=True),
        sa.Column("sent_channel", sa.String(64), nullable=True),
        sa.Column("sent_ts", sa.String(32), nullable=True),
        sa.Column("send_attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", utc, nullable=False),
        sa.Column("updated_at", utc, nullable=False),
        sa.CheckConstraint(_in("status", DRAFT_STATUSES), name="ck_drafts_status"),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"],
                                name="fk_drafts_complaint_id_complaints"),
        sa.PrimaryKeyConstraint("id", name="pk_drafts"),
        sa.UniqueConstraint("complaint_id", "version", name="uq_drafts_complaint_version"),
    )
    op.create_index("ix_drafts_complaint_id", "drafts", ["complaint_id"])
    op.create_index("ix_drafts_status", "drafts", ["status"])
    op.create_index("ix_drafts_created_at", "drafts", ["created_at"])

    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("at", utc, nullable=False),
        sa.ForeignKeyConstraint(["draft_id"], ["drafts.id"],
                                name="fk_decisions_draft_id_drafts"),
        sa.PrimaryKeyConstraint("id", name="pk_decisions"),
    )
    op.create_index("ix_decisions_draft_id", "decisions", ["draft_id"])


def downgrade() -> None:
    op.drop_table("decisions")
    op.drop_table("drafts")
    op.drop_table("jobs")
    op.drop_table("complaints")
    op.drop_table("slack_events")

"""Incidents: bursts of the same complaint (issue 12).

``incidents`` holds one row per burst (or declared incident);
``incident_members`` one row per watched complaint placed by the grouping,
with its vector; its unique ``complaint_id`` places a complaint once.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    utc = sa.DateTime(timezone=True)
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("centroid", sa.JSON(), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("lead_complaint_id", sa.Integer(), nullable=True),
        sa.Column("context", sa.Text(), nullable=True),
        sa.Column("declared_by", sa.String(64), nullable=True),
        sa.Column("shared_text", sa.Text(), nullable=True),
        sa.Column("sent_by", sa.String(64), nullable=True),
        sa.Column("merged_into", sa.Integer(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("drawn_revision", sa.Integer(), nullable=False),
        sa.Column("card_channel", sa.String(64), nullable=True),
        sa.Column("card_ts", sa.String(32), nullable=True),
        sa.Column("first_at", utc, nullable=True),
        sa.Column("last_at", utc, nullable=False),
        sa.Column("created_at", utc, nullable=False),
        sa.Column("updated_at", utc, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_incidents"),
    )
    op.create_index("ix_incidents_open", "incidents", ["status", "last_at"])
    op.create_table(
        "incident_members",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("vector", sa.JSON(), nullable=False),
        sa.Column("pulled_out", sa.Boolean(), nullable=False),
        sa.Column("created_at", utc, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_incident_members"),
        sa.UniqueConstraint("complaint_id", name="uq_incident_members_complaint_id"),
    )
    op.create_index("ix_incident_members_incident_id", "incident_members", ["incident_id"])
    op.create_index("ix_incident_members_created_at", "incident_members", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_incident_members_created_at", table_name="incident_members")
    op.drop_index("ix_incident_members_incident_id", table_name="incident_members")
    op.drop_table("incident_members")
    op.drop_index("ix_incidents_open", table_name="incidents")
    op.drop_table("incidents")

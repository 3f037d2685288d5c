"""Drafts remember their first claim and the text an agent overrode block flags for.

``final_text`` now means "the text of the send in flight or sent": a draft
that is not sending or sent drops it, so its card and its next approval
read ``text``, the one the agent last edited (before this revision an edit
after a failed send was hidden behind the older ``final_text``).

Revision ID: 0002
Revises: 0001
Create Date: 2025-06-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# This revision's own copy of the strings: history must not change with the enum.
IN_FLIGHT_OR_SENT = ("sending", "sent")


def upgrade() -> None:
    # Batch mode: SQLite alters a table by copying it; PostgreSQL runs plain ALTERs.
    with op.batch_alter_table("drafts") as batch:
        batch.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("override_fingerprint", sa.String(64), nullable=True))

    drafts = sa.table(
        "drafts",
        sa.column("status", sa.String()),
        sa.column("final_text", sa.Text()),
        sa.column("claimed_at", sa.DateTime(timezone=True)),
        sa.column("decided_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    op.execute(
        drafts.update()
        .where(drafts.c.status.not_in(IN_FLIGHT_OR_SENT))
        .values(final_text=None)
    )
    # A send in flight during the upgrade is settled by looking for its post
    # from the claim on; the approve click's time is the best record of it.
    op.execute(
        drafts.update()
        .where(drafts.c.status.in_(IN_FLIGHT_OR_SENT))
        .values(claimed_at=sa.func.coalesce(drafts.c.decided_at, drafts.c.updated_at))
    )


def downgrade() -> None:
    with op.batch_alter_table("drafts") as batch:
        batch.drop_column("override_fingerprint")
        batch.drop_column("claimed_at")

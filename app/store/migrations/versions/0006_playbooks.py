"""Per-channel playbooks: each draft records its playbook and version (issue 11).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Batch mode: SQLite alters a table by copying it; PostgreSQL runs plain ALTERs.
    # Nullable: drafts made before playbooks had names keep only their prompt_version.
    with op.batch_alter_table("drafts") as batch:
        batch.add_column(sa.Column("playbook", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("drafts") as batch:
        batch.drop_column("playbook")

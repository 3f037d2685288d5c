"""Retention: what the store keeps is deleted once it is older than the retention period.

A complaint goes with everything made from it: its drafts (the texts shown
and sent), their audit trail (texts before and after each edit) and its jobs.
Jobs without a complaint (briefs) go once they are as old.  Deletion runs in
small batches, one short transaction each, so the upkeep loop never holds
the database for long, on SQLite (one writer at a time) or on PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Delete, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.store.sessions import StoreSessions
from app.store.tables import (
    CommitmentRow,
    ComplaintRow,
    DecisionRow,
    DraftRow,
    JobRow,
    JobState,
)

PURGE_BATCH = 200
PURGED = ("complaints", "drafts", "decisions", "jobs")


async def _count(session: AsyncSession, statement: Delete) -> int:
    result: Any = await session.execute(statement.execution_options(synchronize_session=False))
    return int(result.rowcount or 0)


class RetentionQueries(StoreSessions):
    async def purge_older_than(self, cutoff: datetime, *, batch: int = PURGE_BATCH) -> dict[str, int]:
        """Delete complaints created before ``cutoff`` and all that was made from them.

        Returns how many rows went, per table (``complaints``, ``drafts``,
        ``decisions``, ``jobs``).  Jobs still queued or running are left to
        finish, unless their complaint is gone.
        """
        removed = dict.fromkeys(PURGED, 0)
        while await self._purge_complaints(cutoff, batch, removed) == batch:
            pass
        while await self._purge_loose_jobs(cutoff, batch, removed) == batch:
            pass
        return removed

    async def _purge_complaints(self, cutoff: datetime, batch: int, removed: dict[str, int]) -> int:
        async with self._write() as session:
            complaint_ids = list(await session.scalars(
                select(ComplaintRow.id).where(ComplaintRow.created_at < cutoff)
                .order_by(ComplaintRow.id).limit(batch)
            ))
            if not complaint_ids:
                return 0
            draft_ids = list(await session.scalars(
                select(DraftRow.id).where(DraftRow.complaint_id.in_(complaint_ids))
            ))
            if draft_ids:
                removed["decisions"] += await _count(
                    session, delete(DecisionRow).where(DecisionRow.draft_id.in_(draft_ids)))
                # Promises quote the sent reply: they go with it (not counted apart).
                await session.execute(
                    delete(CommitmentRow).where(CommitmentRow.draft_id.in_(draft_ids)))
            removed["jobs"] += await _count(session, delete(JobRow).where(
                or_(JobRow.complaint_id.in_(complaint_ids), JobRow.draft_id.in_(draft_ids))))
            removed["drafts"] += await _count(
                session, delete(DraftRow).where(DraftRow.id.in_(draft_ids)))
            removed["complaints"] += await _count(
                session, delete(ComplaintRow).where(ComplaintRow.id.in_(complaint_ids)))
            return len(complaint_ids)

    async def _purge_loose_jobs(self, cutoff: datetime, batch: int, removed: dict[str, int]) -> int:
        """Finished jobs of no complaint (briefs: their payload names a thread)."""
        async with self._write() as session:
            job_ids = list(await session.scalars(
                select(JobRow.id)
                .where(JobRow.complaint_id.is_(None), JobRow.created_at < cutoff,
                       JobRow.status.in_((JobState.DONE, JobState.FAILED)))
                .order_by(JobRow.id).limit(batch)
            ))
            if job_ids:
                removed["jobs"] += await _count(session, delete(JobRow).where(JobRow.id.in_(job_ids)))
            return len(job_ids)

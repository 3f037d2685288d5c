"""Intake: Slack event dedupe and the complaint-plus-job hand-off.

Both are decided by unique keys in the database (``slack_events`` primary
key, ``complaints (channel_id, message_ts, source)``) with INSERT ... ON
CONFLICT DO NOTHING, so two bot instances receiving the same delivery agree on
which one handles it without talking to each other.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update

from app.store.records import AcceptedJob, Complaint, JobKind, NewComplaint
from app.store.sessions import StoreSessions
from app.store.tables import JOB_KINDS, ComplaintRow, JobRow, SlackEventRow


def check_job_kind(kind: str) -> None:
    if kind not in JOB_KINDS:
        raise ValueError(f"job kind {kind!r} is not one of {JOB_KINDS}")


def new_job_row(
    *, kind: str, complaint_id: int | None, draft_id: int | None,
    payload: dict[str, Any] | None, now: datetime,
) -> JobRow:
    check_job_kind(kind)
    return JobRow(
        kind=kind, complaint_id=complaint_id, draft_id=draft_id, payload=dict(payload or {}),
        status="queued", attempts=0, not_before=now, lease_owner=None, lease_until=None,
        last_error=None, created_at=now, updated_at=now,
    )


class IntakeQueries(StoreSessions):
    async def first_delivery(self, *, event_id: str) -> bool:
        """True the first time ``event_id`` is seen by any instance, False ever after."""
        statement = (
            self._insert(SlackEventRow)
            .values(event_id=event_id, received_at=self._clock())
            .on_conflict_do_nothing(index_elements=["event_id"])
            .returning(SlackEventRow.event_id)
        )
        async with self._write(urgent=True) as session:
            inserted = (await session.execute(statement)).scalar_one_or_none()
        return inserted is not None

    async def forget_delivery(self, *, event_id: str) -> None:
        """Undo ``first_delivery`` when handling failed, so Slack's retry is not dropped."""
        async with self._write(urgent=True) as session:
            await session.execute(delete(SlackEventRow).where(SlackEventRow.event_id == event_id))

    async def prune_events(self, *, before: datetime) -> int:
        """Forget deliveries received before ``before`` (Slack retries stop after minutes)."""
        async with self._write() as session:
            gone = await session.execute(
                delete(SlackEventRow).where(SlackEventRow.received_at < before)
                .returning(SlackEventRow.event_id)
            )
            return len(gone.all())

    async def accept_complaint(
        self, *, complaint: NewComplaint, job_kind: JobKind | str = "draft",
        payload: dict[str, Any] | None = None,
    ) -> AcceptedJob | None:
        """Store the complaint and queue its job in one transaction.

        Returns None when this (channel, message_ts, source) was accepted
        before: the other delivery owns it, and no second job is queued.
        """
        check_job_kind(job_kind)
        now = self._clock()
        statement = (
            self._insert(ComplaintRow)
            .values(
                team_id=complaint.team_id, channel_id=complaint.channel_id,
                message_ts=complaint.message_ts,
                thread_ts=complaint.thread_ts or complaint.message_ts,
                user_id=complaint.user_id, user_name=complaint.user_name,
                permalink=complaint.permalink, text=complaint.text, source=complaint.source,
                requested_by=complaint.requested_by, guidance=complaint.guidance,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["channel_id", "message_ts", "source"])
            .returning(ComplaintRow.id)
        )
        async with self._write(urgent=True) as session:
            complaint_id = (await session.execute(statement)).scalar_one_or_none()
            if complaint_id is None:
                return None
            job = new_job_row(kind=job_kind, complaint_id=complaint_id, draft_id=None,
                              payload=payload, now=now)
            session.add(job)
            await session.flush()
            row = await session.get_one(ComplaintRow, complaint_id)
            return AcceptedJob(complaint=Complaint.from_row(row), job_id=job.id)

    async def set_permalink(self, *, complaint_id: int, permalink: str) -> None:
        async with self._write() as session:
            await session.execute(
                update(ComplaintRow).where(ComplaintRow.id == complaint_id).values(permalink=permalink)
            )

    async def get_complaint(self, *, complaint_id: int) -> Complaint | None:
        async with self._read() as session:
            row = await session.get(ComplaintRow, complaint_id)
            return Complaint.from_row(row) if row is not None else None

    async def find_complaint(
        self, *, channel_id: str, message_ts: str, source: str,
    ) -> Complaint | None:
        """The complaint stored for one Slack message and source, if any."""
        async with self._read() as session:
            row = await session.scalar(
                select(ComplaintRow).where(
                    ComplaintRow.channel_id == channel_id,
                    ComplaintRow.message_ts == message_ts,
                    ComplaintRow.source == source,
                )
            )
            return Complaint.from_row(row) if row is not None else None

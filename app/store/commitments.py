"""Commitments a sent reply made, their reminders, and the edit size of sent drafts.

Recording is idempotent (``(draft_id, position)`` is unique, inserts do
nothing on conflict), so the approve path and the settle sweep may both
record one send.  A reminder goes out once across restarts and instances:
``claim_reminder`` is one conditional UPDATE (``reminded_at IS NULL``) and
only the caller it returns a row to may post.  A claim whose post Slack
clearly refused is released for the next sweep; one whose outcome is
unknown (the process died, Slack timed out) stays claimed, so a reminder is
at worst lost, never sent twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from app.store.sessions import StoreSessions
from app.store.tables import CommitmentRow, DraftRow

OUTCOMES = ("reminded", "cancelled", "unconfirmed")


@dataclass(frozen=True, kw_only=True)
class NewCommitment:
    phrase: str
    due_at: datetime
    remind_at: datetime


@dataclass(frozen=True, kw_only=True)
class Commitment:
    id: int
    draft_id: int
    owner_id: str
    channel_id: str
    thread_ts: str
    reply_ts: str
    phrase: str
    time_zone: str
    due_at: datetime
    remind_at: datetime
    created_at: datetime
    reminded_at: datetime | None
    outcome: str | None
    follow_up_complaint_id: int | None

    @classmethod
    def from_row(cls, row: CommitmentRow) -> Commitment:
        return cls(
            id=row.id, draft_id=row.draft_id, owner_id=row.owner_id, channel_id=row.channel_id,
            thread_ts=row.thread_ts, reply_ts=row.reply_ts, phrase=row.phrase,
            time_zone=row.time_zone, due_at=row.due_at, remind_at=row.remind_at,
            created_at=row.created_at, reminded_at=row.reminded_at, outcome=row.outcome,
            follow_up_complaint_id=row.follow_up_complaint_id,
        )


class CommitmentQueries(StoreSessions):
    async def add_commitments(
        self, *, draft_id: int, owner_id: str, channel_id: str, thread_ts: str, reply_ts: str,
        time_zone: str, commitments: list[NewCommitment],
    ) -> int:
        """Store a sent reply's promises; a second call for the same draft adds nothing."""
        if not commitments:
            return 0
        now = self._clock()
        statement = (
            self._insert(CommitmentRow)
            .values([
                dict(draft_id=draft_id, position=position, owner_id=owner_id,
                     channel_id=channel_id, thread_ts=thread_ts, reply_ts=reply_ts,
                     phrase=item.phrase, time_zone=time_zone, due_at=item.due_at,
                     remind_at=item.remind_at, created_at=now)
                for position, item in enumerate(commitments)
            ])
            .on_conflict_do_nothing(index_elements=["draft_id", "position"])
            .returning(CommitmentRow.id)
        )
        async with self._write() as session:
            return len((await session.execute(statement)).all())

    async def commitments_of(self, *, draft_id: int) -> list[Commitment]:
        async with self._read() as session:
            rows = await session.scalars(
                select(CommitmentRow).where(CommitmentRow.draft_id == draft_id)
                .order_by(CommitmentRow.position)
            )
            return [Commitment.from_row(row) for row in rows]

    async def get_commitment(self, *, commitment_id: int) -> Commitment | None:
        async with self._read() as session:
            row = await session.get(CommitmentRow, commitment_id)
            return Commitment.from_row(row) if row is not None else None

    async def due_reminders(self, *, limit: int = 50) -> list[Commitment]:
        """Commitments whose reminder time has come and that nobody has claimed yet."""
        async with self._read() as session:
            rows = await session.scalars(
                select(CommitmentRow)
                .where(CommitmentRow.reminded_at.is_(None),
                       CommitmentRow.remind_at <= self._clock())
                .order_by(CommitmentRow.remind_at)
                .limit(limit)
            )
            return [Commitment.from_row(row) for row in rows]

    async def claim_reminder(self, *, commitment_id: int) -> Commitment | None:
        """Win the right to remind (or cancel) this commitment; None when another caller did."""
        async with self._write() as session:
            row = await session.scalar(
                update(CommitmentRow)
                .where(CommitmentRow.id == commitment_id, CommitmentRow.reminded_at.is_(None))
                .values(reminded_at=self._clock())
                .returning(CommitmentRow)
            )
            return Commitment.from_row(row) if row is not None else None

    async def release_reminder(self, *, commitment_id: int) -> None:
        """Slack clearly did not post (or the thread could not be read): try on the next sweep."""
        async with self._write() as session:
            await session.execute(
                update(CommitmentRow)
                .where(CommitmentRow.id == commitment_id, CommitmentRow.outcome.is_(None))
                .values(reminded_at=None)
            )

    async def finish_reminder(self, *, commitment_id: int, outcome: str) -> None:
        if outcome not in OUTCOMES:
            raise ValueError(f"reminder outcome {outcome!r} is not one of {OUTCOMES}")
        async with self._write() as session:
            await session.execute(
                update(CommitmentRow).where(CommitmentRow.id == commitment_id)
                .values(outcome=outcome)
            )

    async def set_follow_up(self, *, commitment_id: int, complaint_id: int) -> None:
        async with self._write() as session:
            await session.execute(
                update(CommitmentRow).where(CommitmentRow.id == commitment_id)
                .values(follow_up_complaint_id=complaint_id)
            )

    async def set_edit_size(self, *, draft_id: int, chars: int, ratio: float) -> None:
        """How much the sent text differs from the model's (``app.domain.edit_diff``)."""
        async with self._write() as session:
            await session.execute(
                update(DraftRow).where(DraftRow.id == draft_id)
                .values(edit_chars=chars, edit_ratio=ratio)
            )

"""Stored escalation briefs: one per thread, served again while the thread has not changed.

A brief costs several LLM calls on a long thread; asking twice for the same
unchanged thread must not pay twice.  The row is keyed by channel and thread
ts (a unique key, so two instances briefing the same thread leave one row)
and remembers the thread's last message ts: a newer message, or Refresh,
makes a new brief that replaces it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select

from app.store.sessions import StoreSessions
from app.store.tables import BriefRow


@dataclass(frozen=True)
class StoredBrief:
    id: int
    channel_id: str
    thread_ts: str
    last_ts: str
    message_count: int
    brief: dict[str, Any]
    refs: list[str]
    prompt_version: str
    updated_at: datetime


def _record(row: BriefRow) -> StoredBrief:
    return StoredBrief(
        id=row.id, channel_id=row.channel_id, thread_ts=row.thread_ts, last_ts=row.last_ts,
        message_count=row.message_count, brief=dict(row.brief), refs=[str(r) for r in row.refs],
        prompt_version=row.prompt_version, updated_at=row.updated_at,
    )


class BriefQueries(StoreSessions):
    async def find_brief(self, *, channel_id: str, thread_ts: str) -> StoredBrief | None:
        async with self._read() as session:
            row = (
                await session.execute(
                    select(BriefRow).where(
                        BriefRow.channel_id == channel_id, BriefRow.thread_ts == thread_ts
                    )
                )
            ).scalar_one_or_none()
        return None if row is None else _record(row)

    async def get_brief(self, *, brief_id: int) -> StoredBrief | None:
        async with self._read() as session:
            row = await session.get(BriefRow, brief_id)
        return None if row is None else _record(row)

    async def save_brief(
        self,
        *,
        channel_id: str,
        thread_ts: str,
        last_ts: str,
        message_count: int,
        brief: dict[str, Any],
        refs: list[str],
        prompt_version: str,
        requested_by: str | None,
    ) -> StoredBrief:
        """Insert the thread's brief, or replace the one stored before (same id kept)."""
        now = self._clock()
        values = dict(
            last_ts=last_ts, message_count=message_count, brief=brief, refs=refs,
            prompt_version=prompt_version, requested_by=requested_by, updated_at=now,
        )
        statement = (
            self._insert(BriefRow)
            .values(channel_id=channel_id, thread_ts=thread_ts, created_at=now, **values)
            .on_conflict_do_update(index_elements=["channel_id", "thread_ts"], set_=values)
            .returning(BriefRow.id)
        )
        async with self._write() as session:
            brief_id = (await session.execute(statement)).scalar_one()
            row = await session.get(BriefRow, brief_id, populate_existing=True)
            assert row is not None
            return _record(row)

    async def purge_briefs(self, *, before: datetime) -> int:
        """Delete briefs last made before ``before`` (the retention period): they quote customers."""
        async with self._write() as session:
            gone = await session.execute(
                delete(BriefRow).where(BriefRow.updated_at < before).returning(BriefRow.id)
            )
            return len(gone.all())

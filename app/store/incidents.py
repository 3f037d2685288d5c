"""Incidents in the store: where each watched complaint is placed, atomically, on every instance.

Placing a complaint reads the open incidents and the loose complaints of
the window and writes the decision in one transaction, under one lock: on
PostgreSQL an advisory transaction lock, on SQLite the serialised writer.
Two instances therefore agree on which incident a complaint joins, and the
unique ``incident_members.complaint_id`` places a complaint once, so a
re-run job finds the decision already made.

"Approve for all" is a conditional UPDATE (open -> sending) that queues
the durable fan-out job in the same transaction: one click wins, and a
restart finishes the fan-out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import and_, delete, func, or_, select, text, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.incidents import (
    IncidentState,
    Loose,
    OpenIncident,
    Vector,
    centroid,
    closest_incident,
    new_group,
)
from app.store.intake import new_job_row
from app.store.records import Complaint
from app.store.sessions import StoreSessions
from app.store.tables import ComplaintRow, DraftRow, IncidentMemberRow, IncidentRow

# First key of the advisory lock every placement takes (apart from the message locks).
_INCIDENT_LOCKS = 0x1AC1
OPEN, SENDING, SENT, MERGED = (IncidentState.OPEN, IncidentState.SENDING, IncidentState.SENT,
                               IncidentState.MERGED)
PlacementKind = Literal["alone", "joined", "formed"]
# Seconds after which an incident card claimed but never posted may be claimed again.
CARD_CLAIM_S = 60


@dataclass(frozen=True)
class Grouping:
    """How placements are decided (the incident settings)."""

    window: timedelta
    threshold: float
    min_size: int


@dataclass(frozen=True)
class Placement:
    kind: PlacementKind
    incident_id: int | None = None
    # This complaint drafts the incident's shared draft.
    lead: bool = False
    # Agents' description of a declared incident (drafts use it).
    context: str | None = None


@dataclass(frozen=True, kw_only=True)
class Incident:
    id: int
    status: str
    members: int
    lead_complaint_id: int | None
    context: str | None
    declared_by: str | None
    shared_text: str | None
    sent_by: str | None
    merged_into: int | None
    revision: int
    drawn_revision: int
    card_channel: str | None
    card_ts: str | None
    first_at: datetime | None
    last_at: datetime

    @classmethod
    def from_row(cls, row: IncidentRow) -> Incident:
        return cls(
            id=row.id, status=row.status, members=row.members,
            lead_complaint_id=row.lead_complaint_id, context=row.context,
            declared_by=row.declared_by, shared_text=row.shared_text, sent_by=row.sent_by,
            merged_into=row.merged_into, revision=row.revision,
            drawn_revision=row.drawn_revision, card_channel=row.card_channel,
            card_ts=row.card_ts, first_at=row.first_at, last_at=row.last_at,
        )


@dataclass(frozen=True)
class IncidentFigures:
    incidents: int
    grouped_complaints: int
    declared: int


class IncidentQueries(StoreSessions):
    async def place_complaint(
        self, *, complaint_id: int, source: str, vector: Vector, grouping: Grouping,
    ) -> Placement:
        """Join the closest open incident, form a new one, or stay alone; decided once."""
        now = self._clock()
        since = now - grouping.window
        async with self._write() as session:
            await self._lock_incidents(session)
            placed = await session.scalar(
                select(IncidentMemberRow).where(IncidentMemberRow.complaint_id == complaint_id)
            )
            if placed is not None:
                return await self._placement_of(session, placed, complaint_id)
            member = IncidentMemberRow(
                complaint_id=complaint_id, incident_id=None, source=source, vector=list(vector),
                pulled_out=False, created_at=now,
            )
            session.add(member)
            rows = (await session.scalars(
                select(IncidentRow).where(
                    IncidentRow.status == OPEN, IncidentRow.source == source,
                    or_(IncidentRow.declared_by.is_not(None), IncidentRow.last_at >= since),
                )
            )).all()
            found = closest_incident(
                vector, [OpenIncident(r.id, list(r.centroid)) for r in rows], grouping.threshold
            )
            if found is not None:
                row = next(r for r in rows if r.id == found)
                weight = max(row.members, 1)
                row.centroid = centroid([[x * weight for x in row.centroid], vector])
                row.members += 1
                row.lead_complaint_id = row.lead_complaint_id or complaint_id
                row.first_at = row.first_at or now
                row.last_at, row.updated_at, row.revision = now, now, row.revision + 1
                member.incident_id = row.id
                await session.flush()
                return Placement("joined", row.id, row.lead_complaint_id == complaint_id,
                                 row.context)
            loose = (await session.execute(
                select(IncidentMemberRow.complaint_id, IncidentMemberRow.vector).where(
                    IncidentMemberRow.incident_id.is_(None),
                    IncidentMemberRow.pulled_out.is_(False),
                    IncidentMemberRow.source == source,
                    IncidentMemberRow.created_at >= since,
                    IncidentMemberRow.complaint_id != complaint_id,
                )
            )).all()
            group = new_group(
                complaint_id, vector, [Loose(c, list(v)) for c, v in loose],
                threshold=grouping.threshold, min_size=grouping.min_size,
            )
            if group is None:
                await session.flush()
                return Placement("alone")
            vectors = [vector] + [list(v) for c, v in loose if c in set(group)]
            first = await session.scalar(
                select(func.min(ComplaintRow.created_at)).where(ComplaintRow.id.in_(group))
            )
            incident = IncidentRow(
                status=OPEN, source=source, centroid=centroid(vectors), members=len(group),
                lead_complaint_id=complaint_id, context=None, declared_by=None,
                shared_text=None, sent_by=None, merged_into=None, revision=1, drawn_revision=0,
                card_channel=None, card_ts=None, first_at=first or now, last_at=now,
                created_at=now, updated_at=now,
            )
            session.add(incident)
            await session.flush()
            member.incident_id = incident.id
            await session.execute(
                update(IncidentMemberRow)
                .where(IncidentMemberRow.complaint_id.in_(group))
                .values(incident_id=incident.id)
                .execution_options(synchronize_session=False)
            )
            return Placement("formed", incident.id, True, None)

    async def _placement_of(
        self, session: AsyncSession, member: IncidentMemberRow, complaint_id: int,
    ) -> Placement:
        if member.incident_id is None or member.pulled_out:
            return Placement("alone")
        row = await session.get(IncidentRow, member.incident_id)
        if row is None or row.status == MERGED:
            return Placement("alone")
        return Placement("joined", row.id, row.lead_complaint_id == complaint_id, row.context)

    async def declare_incident(
        self, *, context: str, declared_by: str, source: str, vector: Vector,
    ) -> int:
        """An incident an agent declared: matching complaints join it and drafts use ``context``."""
        now = self._clock()
        async with self._write() as session:
            row = IncidentRow(
                status=OPEN, source=source, centroid=list(vector), members=0,
                lead_complaint_id=None, context=context, declared_by=declared_by,
                shared_text=None, sent_by=None, merged_into=None, revision=1, drawn_revision=0,
                card_channel=None, card_ts=None, first_at=None, last_at=now,
                created_at=now, updated_at=now,
            )
            session.add(row)
            await session.flush()
            return row.id

    async def describe_incident(self, *, incident_id: int, context: str, user_id: str) -> bool:
        """Agents' description of an open incident (from its card); drafts made later use it."""
        return await self._change(
            incident_id, IncidentRow.status == OPEN, context=context,
            declared_by=func.coalesce(IncidentRow.declared_by, user_id),
        )

    async def get_incident(self, *, incident_id: int) -> Incident | None:
        async with self._read() as session:
            row = await session.get(IncidentRow, incident_id)
            return Incident.from_row(row) if row is not None else None

    async def incident_of(self, *, complaint_id: int) -> int | None:
        """The live incident showing this complaint, if any."""
        async with self._read() as session:
            return await session.scalar(
                select(IncidentRow.id)
                .join(IncidentMemberRow, IncidentMemberRow.incident_id == IncidentRow.id)
                .where(IncidentMemberRow.complaint_id == complaint_id,
                       IncidentMemberRow.pulled_out.is_(False), IncidentRow.status != MERGED)
            )

    async def incident_members(self, *, incident_id: int) -> list[Complaint]:
        """The complaints an incident answers (pulled-out ones left out), oldest first."""
        async with self._read() as session:
            rows = await session.scalars(
                select(ComplaintRow)
                .join(IncidentMemberRow, IncidentMemberRow.complaint_id == ComplaintRow.id)
                .where(IncidentMemberRow.incident_id == incident_id,
                       IncidentMemberRow.pulled_out.is_(False))
                .order_by(ComplaintRow.created_at, ComplaintRow.id)
            )
            return [Complaint.from_row(row) for row in rows]

    async def open_incidents(self, *, limit: int = 50) -> list[Incident]:
        async with self._read() as session:
            rows = await session.scalars(
                select(IncidentRow).where(IncidentRow.status == OPEN)
                .order_by(IncidentRow.id.desc()).limit(limit)
            )
            return [Incident.from_row(row) for row in rows]

    async def claim_incident_card(self, *, incident_id: int) -> bool:
        """The right to post the incident's card: one poster, however many workers try.

        The claim is marked with its time (``card_ts`` ``~<epoch>``, no channel yet); a
        poster that died before storing the card leaves a claim another takes over
        after ``CARD_CLAIM_S``.
        """
        now = int(self._clock().timestamp())
        stale = f"~{now - CARD_CLAIM_S:010d}"
        return await self._change(
            incident_id,
            or_(IncidentRow.card_channel.is_(None),
                and_(IncidentRow.card_channel == "", IncidentRow.card_ts < stale)),
            card_channel="", card_ts=f"~{now:010d}",
        )

    async def set_incident_card(self, *, incident_id: int, channel: str, ts: str) -> None:
        await self._change(incident_id, card_channel=channel, card_ts=ts)

    async def mark_incident_drawn(self, *, incident_id: int, revision: int) -> None:
        await self._change(
            incident_id, IncidentRow.drawn_revision < revision, drawn_revision=revision,
        )

    async def touch_incident(self, *, incident_id: int) -> None:
        """Something the card shows changed (a draft, a send): the card must be drawn again."""
        await self._change(incident_id, revision=IncidentRow.revision + 1)

    async def start_fan_out(
        self, *, incident_id: int, user_id: str, shared_text: str,
    ) -> bool:
        """Open -> sending with the approved text, and the fan-out job, in one transaction."""
        now = self._clock()
        async with self._write() as session:
            won = await session.scalar(
                update(IncidentRow)
                .where(IncidentRow.id == incident_id, IncidentRow.status == OPEN)
                .values(status=SENDING, sent_by=user_id, shared_text=shared_text,
                        revision=IncidentRow.revision + 1, updated_at=now)
                .returning(IncidentRow.id)
                .execution_options(synchronize_session=False)
            )
            if won is None:
                return False
            session.add(new_job_row(
                kind="incident_send", complaint_id=None, draft_id=None,
                payload={"incident_id": incident_id, "user_id": user_id}, now=now,
                due=self._lease_time(),
            ))
            return True

    async def reopen_fan_out(self, *, incident_id: int) -> bool:
        """A fan-out that kept failing: sending -> open, so "Approve for all" can be pressed again.

        Replies already sent stay sent; the claim skips them on the next run.
        """
        return await self._change(
            incident_id, IncidentRow.status == SENDING, status=OPEN,
            revision=IncidentRow.revision + 1,
        )

    async def finish_fan_out(self, *, incident_id: int) -> None:
        await self._change(
            incident_id, IncidentRow.status == SENDING, status=SENT,
        )

    async def pull_out(self, *, incident_id: int, complaint_ids: Sequence[int]) -> list[int]:
        """Take complaints out of an open incident (split = several); returns those taken."""
        async with self._write() as session:
            await self._lock_incidents(session)
            row = await session.get(IncidentRow, incident_id)
            if row is None or row.status != OPEN:
                return []
            taken = list((await session.scalars(
                update(IncidentMemberRow)
                .where(IncidentMemberRow.incident_id == incident_id,
                       IncidentMemberRow.complaint_id.in_(list(complaint_ids)),
                       IncidentMemberRow.pulled_out.is_(False))
                .values(pulled_out=True)
                .returning(IncidentMemberRow.complaint_id)
                .execution_options(synchronize_session=False)
            )).all())
            if taken:
                await self._recount(session, row)
                if row.lead_complaint_id in taken:
                    # Its draft was the shared one: the next lead drafts it again, so a
                    # member with no draft of its own yet is preferred.
                    remaining = and_(IncidentMemberRow.incident_id == incident_id,
                                     IncidentMemberRow.pulled_out.is_(False))
                    undrafted = IncidentMemberRow.complaint_id.not_in(select(DraftRow.complaint_id))
                    row.lead_complaint_id = await session.scalar(
                        select(func.min(IncidentMemberRow.complaint_id))
                        .where(remaining, undrafted)
                    ) or await session.scalar(
                        select(func.min(IncidentMemberRow.complaint_id)).where(remaining)
                    )
            return taken

    async def merge_incidents(self, *, incident_id: int, into_id: int) -> bool:
        """Move every member of ``incident_id`` into ``into_id``; both must be open."""
        if incident_id == into_id:
            return False
        async with self._write() as session:
            await self._lock_incidents(session)
            source = await session.get(IncidentRow, incident_id)
            target = await session.get(IncidentRow, into_id)
            if source is None or target is None or source.status != OPEN or target.status != OPEN:
                return False
            await session.execute(
                update(IncidentMemberRow).where(IncidentMemberRow.incident_id == incident_id)
                .values(incident_id=into_id).execution_options(synchronize_session=False)
            )
            source.status, source.merged_into = MERGED, into_id
            source.revision += 1
            target.context = target.context or source.context
            target.first_at = min(d for d in (target.first_at, source.first_at, target.last_at) if d)
            target.last_at = max(target.last_at, source.last_at)
            await self._recount(session, target)
            return True

    async def incident_figures(self, *, since: datetime | None = None) -> IncidentFigures:
        async with self._read() as session:
            live = and_(IncidentRow.status != MERGED,
                        IncidentRow.created_at >= since if since is not None else true())
            incidents = int(await session.scalar(
                select(func.count()).select_from(IncidentRow).where(live)) or 0)
            declared = int(await session.scalar(
                select(func.count()).select_from(IncidentRow)
                .where(live, IncidentRow.declared_by.is_not(None))) or 0)
            grouped = int(await session.scalar(
                select(func.coalesce(func.sum(IncidentRow.members), 0)).where(live)) or 0)
            return IncidentFigures(incidents, grouped, declared)

    async def purge_incidents(self, *, before: datetime) -> int:
        """Retention: forget placements and incidents older than ``before``."""
        async with self._write() as session:
            await session.execute(
                delete(IncidentMemberRow).where(IncidentMemberRow.created_at < before)
            )
            gone = await session.execute(
                delete(IncidentRow).where(IncidentRow.last_at < before)
                .returning(IncidentRow.id)
            )
            return len(gone.all())

    async def _recount(self, session: AsyncSession, row: IncidentRow) -> None:
        await session.flush()
        vectors = (await session.scalars(
            select(IncidentMemberRow.vector).where(
                IncidentMemberRow.incident_id == row.id, IncidentMemberRow.pulled_out.is_(False))
        )).all()
        row.members = len(vectors)
        if vectors:
            row.centroid = centroid([list(v) for v in vectors])
        row.revision += 1
        row.updated_at = self._clock()

    async def _change(self, incident_id: int, *where: object, **values: object) -> bool:
        async with self._write() as session:
            changed = await session.scalar(
                update(IncidentRow).where(IncidentRow.id == incident_id, *where)  # type: ignore[arg-type]
                .values(updated_at=self._clock(), **values)
                .returning(IncidentRow.id)
                .execution_options(synchronize_session=False)
            )
            return changed is not None

    async def _lock_incidents(self, session: AsyncSession) -> None:
        """Placements, pull-outs and merges take turns across instances (SQLite writers already do)."""
        if self.dialect_name == "postgresql":
            await session.execute(
                text("SELECT pg_advisory_xact_lock(:space, 0)"), {"space": _INCIDENT_LOCKS}
            )

"""Intake: Slack event dedupe and the complaint-plus-job hand-off.

Both are decided by unique keys in the database (``slack_events`` primary
key, ``complaints (channel_id, message_ts, source)``) with INSERT ... ON
CONFLICT DO NOTHING, so two bot instances receiving the same delivery agree on
which one handles it without talking to each other.

One customer message gets at most one draft asked for: a request (shortcut,
mention, command, CLI) stores a complaint only when no complaint of that
message exists yet, whatever its source.  A watched message is always
stored once (it is how the review channel hears of it); when a request came
first, the approve claim still lets only one of the two replies out.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Interval,
    Table,
    bindparam,
    delete,
    exists,
    func,
    insert,
    literal,
    select,
    true,
    update,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.store.records import (
    AcceptedJob,
    AlreadyDelivered,
    Complaint,
    Job,
    JobClaim,
    JobKind,
    NewComplaint,
)
from app.store.sessions import CoreConnection, StoreSessions
from app.store.tables import JOB_KINDS, ComplaintRow, JobRow, JobState, SlackEventRow


def check_job_kind(kind: str) -> None:
    if kind not in JOB_KINDS:
        raise ValueError(f"job kind {kind!r} is not one of {JOB_KINDS}")


def new_job_values(
    *, kind: str, complaint_id: int | None, draft_id: int | None,
    payload: dict[str, Any] | None, now: datetime, due: ColumnElement[datetime] | datetime,
) -> dict[str, Any]:
    """A queued job's columns; ``due`` is "now" by the clock leases are judged by."""
    check_job_kind(kind)
    return dict(
        kind=kind, complaint_id=complaint_id, draft_id=draft_id, payload=dict(payload or {}),
        status=JobState.QUEUED, attempts=0, not_before=due, lease_owner=None, lease_until=None,
        last_error=None, created_at=now, updated_at=now,
    )


def new_job_row(
    *, kind: str, complaint_id: int | None, draft_id: int | None,
    payload: dict[str, Any] | None, now: datetime, due: ColumnElement[datetime],
) -> JobRow:
    """A queued job row; ``due`` is "now" by the clock leases are judged by."""
    return JobRow(**new_job_values(kind=kind, complaint_id=complaint_id, draft_id=draft_id,
                                   payload=payload, now=now, due=due))


_EVENTS: Table = SlackEventRow.__table__  # type: ignore[assignment]
_COMPLAINTS: Table = ComplaintRow.__table__  # type: ignore[assignment]
_JOBS: Table = JobRow.__table__  # type: ignore[assignment]
_NEW_COMPLAINT_COLUMNS = (
    "team_id", "channel_id", "message_ts", "thread_ts", "user_id", "user_name", "permalink",
    "text", "source", "requested_by", "guidance", "channel_kind", "relayed", "created_at",
)
_NEW_JOB_COLUMNS = (
    "kind", "complaint_id", "draft_id", "payload", "status", "attempts", "lease_owner",
    "lease_until", "last_error", "created_at", "updated_at",
)


# The ack path's statements are built once per dialect: building and keying a
# statement cost more CPU than running it (values go in as parameters, "p_" +
# column, since a column's own name is reserved in VALUES).
def _upsert(dialect: str, table: Table) -> Any:
    if dialect == "postgresql":
        # Here, not at the top: a bot on SQLite never loads this dialect (about 2 MB).
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    return sqlite.insert(table)


@functools.cache
def _first_delivery_statement(dialect: str) -> Any:
    return (
        _upsert(dialect, _EVENTS)
        .values(event_id=bindparam("p_event_id"), received_at=bindparam("p_received_at"))
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(_EVENTS.c.event_id)
    )


@functools.cache
def _new_complaint_statement(dialect: str) -> Any:
    return (
        _upsert(dialect, _COMPLAINTS)
        .values({name: bindparam(f"p_{name}") for name in _NEW_COMPLAINT_COLUMNS})
        .on_conflict_do_nothing(index_elements=["channel_id", "message_ts", "source"])
        # The whole row back: no read after the write (the ack waits for this).
        .returning(*_COMPLAINTS.c)
    )


def _new_job_values(dialect: str, *, claimed: bool) -> dict[str, Any]:
    """A new job's column values as bound parameters ``p_<column>``, in column order."""
    # Due now, and a claim's lease end, by the clock leases are judged by
    # (see StoreSessions._lease_time): the database's on PostgreSQL.
    postgres = dialect == "postgresql"
    values: dict[str, Any] = {
        name: bindparam(f"p_{name}", type_=_JOBS.c[name].type)
        for name in (*_NEW_JOB_COLUMNS, "not_before")
    }
    if postgres:
        values["not_before"] = func.now()
    if claimed and postgres:
        values["lease_until"] = func.now() + bindparam("p_lease_s", type_=Interval())
    return values


@functools.cache
def _new_job_statement(dialect: str, *, claimed: bool) -> Any:
    return insert(_JOBS).values(_new_job_values(dialect, claimed=claimed)).returning(*_JOBS.c)


@functools.cache
def _accept_at_once_statement(*, with_event: bool, claimed: bool) -> Any:
    """PostgreSQL: the event id, the complaint and its job, each inserted only if the one before was.

    One row back: ``fresh_event`` (0 when the event was seen before), the
    complaint's columns as ``c_*`` and the job's as ``j_*`` (NULL when the
    message was accepted before, under another event id).
    """
    from sqlalchemy.dialects import postgresql

    complaint = select(
        *(bindparam(f"p_{name}", type_=_COMPLAINTS.c[name].type) for name in _NEW_COMPLAINT_COLUMNS)
    )
    event = None
    if with_event:
        event = _first_delivery_statement("postgresql").cte("fresh_event")
        complaint = complaint.where(exists(select(event.c.event_id)))
    new_complaint = (
        postgresql.insert(_COMPLAINTS)
        .from_select([_COMPLAINTS.c[name] for name in _NEW_COMPLAINT_COLUMNS], complaint)
        .on_conflict_do_nothing(index_elements=["channel_id", "message_ts", "source"])
        .returning(*_COMPLAINTS.c)
        .cte("new_complaint")
    )
    job_values = {**_new_job_values("postgresql", claimed=claimed), "complaint_id": new_complaint.c.id}
    new_job = (
        insert(_JOBS)
        .from_select(
            [_JOBS.c[name] for name in job_values],
            select(*job_values.values()).select_from(new_complaint),
        )
        .returning(*_JOBS.c)
        .cte("new_job")
    )
    fresh = (
        select(func.count()).select_from(event).scalar_subquery()
        if event is not None
        else literal(1)
    )
    anchor = select(literal(1).label("one")).subquery("anchor")
    return select(
        fresh.label("fresh_event"),
        *(new_complaint.c[column.key].label(f"c_{column.key}") for column in _COMPLAINTS.c),
        *(new_job.c[column.key].label(f"j_{column.key}") for column in _JOBS.c),
    ).select_from(
        anchor.outerjoin(new_complaint, true()).outerjoin(
            new_job, new_job.c.complaint_id == new_complaint.c.id
        )
    )


def _prefixed(row: Any, prefix: str) -> SimpleNamespace:
    """The columns of ``row`` named ``prefix`` + column, as one record's attributes."""
    return SimpleNamespace(
        **{key[len(prefix):]: value for key, value in row.items() if key.startswith(prefix)}
    )


def _accepted(complaint_row: Any, job_row: Any, claim: JobClaim | None) -> AcceptedJob:
    complaint = Complaint.from_row(complaint_row)
    taken = replace(Job.from_row(job_row), accepted=complaint) if claim is not None else None
    return AcceptedJob(complaint=complaint, job_id=job_row.id, job=taken)


_FIRST_COMPLAINT_ID = (
    select(_COMPLAINTS.c.id)
    .where(
        _COMPLAINTS.c.channel_id == bindparam("p_channel_id"),
        _COMPLAINTS.c.message_ts == bindparam("p_message_ts"),
    )
    .limit(1)
)


class IntakeQueries(StoreSessions):
    async def first_delivery(self, *, event_id: str) -> bool:
        """True the first time ``event_id`` is seen by any instance, False ever after."""
        async with self._write_one(urgent=True) as connection:
            return await self._first_delivery_in(connection, event_id)

    async def _first_delivery_in(self, connection: CoreConnection, event_id: str) -> bool:
        inserted = (
            await connection.execute(
                _first_delivery_statement(self.dialect_name),
                {"p_event_id": event_id, "p_received_at": self._clock()},
            )
        ).scalar_one_or_none()
        return inserted is not None

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
        payload: dict[str, Any] | None = None, claim: JobClaim | None = None,
        event_id: str | None = None,
    ) -> AcceptedJob | None:
        """Store the complaint and queue its job in one transaction.

        With ``event_id`` the Slack event that brought the message is recorded
        in the same transaction (``first_delivery``'s dedupe, one write less on
        the ack path): a delivery seen before raises ``AlreadyDelivered``, and
        a failure stores neither, so Slack's retry is handled as new.

        With ``claim`` the job is stored already leased to that worker, and
        returned: the worker runs it without claiming it from the queue (a
        store write less per complaint); if the worker dies, the lease runs
        out and any worker claims it, as any job.

        Returns None, and queues nothing, when this (channel, message_ts,
        source) was accepted before (the other delivery owns it), or when
        the complaint is a request and the message already has a complaint
        of any source (``existing_for_message`` finds it).
        """
        check_job_kind(job_kind)
        now = self._clock()
        complaint_values = {
            "p_team_id": complaint.team_id, "p_channel_id": complaint.channel_id,
            "p_message_ts": complaint.message_ts,
            "p_thread_ts": complaint.thread_ts or complaint.message_ts,
            "p_user_id": complaint.user_id, "p_user_name": complaint.user_name,
            "p_permalink": complaint.permalink, "p_text": complaint.text,
            "p_source": complaint.source, "p_requested_by": complaint.requested_by,
            "p_guidance": complaint.guidance, "p_channel_kind": complaint.channel_kind,
            "p_relayed": complaint.relayed, "p_created_at": now,
        }
        params = {**complaint_values, **self._new_job_params(job_kind, payload, claim, now)}
        if self.dialect_name == "postgresql" and complaint.source == "watch":
            return await self._accept_at_once(params, claim, event_id)
        async with self._write_core(urgent=True) as connection:
            if event_id is not None and not await self._first_delivery_in(connection, event_id):
                raise AlreadyDelivered(event_id)
            if complaint.source != "watch":
                await self._lock_message(connection, complaint.channel_id, complaint.message_ts)
                if await connection.scalar(_FIRST_COMPLAINT_ID, complaint_values) is not None:
                    return None
            row = (
                await connection.execute(
                    _new_complaint_statement(self.dialect_name), complaint_values
                )
            ).first()
            if row is None:
                return None
            statement = _new_job_statement(self.dialect_name, claimed=claim is not None)
            job_row = (await connection.execute(statement, {**params, "p_complaint_id": row.id})).one()
            return _accepted(row, job_row, claim)

    def _new_job_params(
        self, kind: JobKind | str, payload: dict[str, Any] | None, claim: JobClaim | None,
        now: datetime,
    ) -> dict[str, Any]:
        """A new job's values as ``_new_job_statement`` takes them, less its complaint's id."""
        # The statements set "due now" by the lease clock (the database's on PostgreSQL).
        job = new_job_values(kind=kind, complaint_id=None, draft_id=None, payload=payload,
                             now=now, due=now)
        params = {f"p_{name}": job[name] for name in (*_NEW_JOB_COLUMNS, "not_before")}
        if claim is not None:
            params.update(p_status=JobState.RUNNING, p_attempts=1, p_lease_owner=claim.worker)
            if self.dialect_name == "postgresql":
                params["p_lease_s"] = timedelta(seconds=claim.lease_s)
            else:
                params["p_lease_until"] = now + timedelta(seconds=claim.lease_s)
        return params

    async def _accept_at_once(
        self, params: dict[str, Any], claim: JobClaim | None, event_id: str | None
    ) -> AcceptedJob | None:
        """``accept_complaint`` of a watched message on PostgreSQL, in one statement.

        The event id, the complaint and its job go in as one statement of
        data-modifying CTEs, in autocommit: one round trip on the ack path
        instead of five (BEGIN, three INSERTs, COMMIT), with the same outcome,
        since each insert only runs on what the one before it inserted.
        """
        if event_id is not None:
            params = {**params, "p_event_id": event_id, "p_received_at": params["p_created_at"]}
        statement = _accept_at_once_statement(
            with_event=event_id is not None, claimed=claim is not None
        )
        async with self._write_one(urgent=True) as connection:
            found = (await connection.execute(statement, params)).one()._mapping
        if not found["fresh_event"]:
            raise AlreadyDelivered(str(event_id))
        if found["c_id"] is None:
            return None
        return _accepted(_prefixed(found, "c_"), _prefixed(found, "j_"), claim)

    async def existing_for_message(self, *, channel_id: str, message_ts: str) -> Complaint | None:
        """The first complaint stored for this Slack message, whatever asked for it."""
        async with self._read() as session:
            row = await self._first_complaint(session, channel_id, message_ts)
            return Complaint.from_row(row) if row is not None else None

    async def _first_complaint(
        self, session: AsyncSession, channel_id: str, message_ts: str,
    ) -> ComplaintRow | None:
        found: ComplaintRow | None = await session.scalar(
            select(ComplaintRow)
            .where(ComplaintRow.channel_id == channel_id, ComplaintRow.message_ts == message_ts)
            .order_by(ComplaintRow.id)
            .limit(1)
        )
        return found

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

"""The durable job queue: an acked Slack event becomes a row any process can finish.

A job is claimed with a lease.  A worker that dies simply stops extending it;
once ``lease_until`` passes, another worker claims the job again (attempts
counts every claim).  Claims are exclusive in the database: on PostgreSQL the
candidate is picked with FOR UPDATE SKIP LOCKED, on SQLite the write
transaction is serialised; on both the UPDATE re-checks the claimable
condition, and a lost race simply tries the next job.

Lease ends and due times are set and compared by one clock: the database's
on PostgreSQL (``now()``), so hosts whose clocks disagree never both hold a
job; the store's clock on SQLite, where every worker is on one host.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Interval, Table, and_, bindparam, func, or_, select, update

from app.store.intake import new_job_row
from app.store.records import Job, JobKind
from app.store.sessions import StoreSessions
from app.store.tables import JobRow, JobState

_JOBS = cast(Table, JobRow.__table__)


def _claimable(now: ColumnElement[datetime]) -> ColumnElement[bool]:
    return or_(
        and_(_JOBS.c.status == JobState.QUEUED, _JOBS.c.not_before <= now),
        and_(_JOBS.c.status == JobState.RUNNING, _JOBS.c.lease_until < now),
    )


def _now_and_lease_end(dialect: str) -> tuple[ColumnElement[datetime], ColumnElement[datetime]]:
    """As ``StoreSessions._lease_time``, as parameters: p_now and p_lease_s (or p_lease_until)."""
    if dialect == "postgresql":
        return func.now(), func.now() + bindparam("p_lease_s", type_=Interval())
    return bindparam("p_now", type_=_JOBS.c.not_before.type), bindparam(
        "p_lease_until", type_=_JOBS.c.lease_until.type
    )


@functools.cache
def _claim_statement(dialect: str) -> Any:
    """Up to p_limit of the oldest runnable jobs, taken in one statement (built once)."""
    now, lease_until = _now_and_lease_end(dialect)
    # SKIP LOCKED lets workers on Postgres pass each other's candidates; the outer
    # WHERE re-checks the claimable condition, so a job another worker took in
    # between is not taken twice (this worker simply gets fewer, and asks again).
    candidates = (
        select(_JOBS.c.id)
        .where(_claimable(now))
        .order_by(_JOBS.c.not_before, _JOBS.c.id)
        .limit(bindparam("p_limit", type_=_JOBS.c.attempts.type))
        .with_for_update(skip_locked=True)
        .cte("candidates")
    )
    if dialect == "postgresql":
        # Evaluated once: as a plain IN subquery Postgres may run it again per
        # row, and each run locks (and takes) ``limit`` more jobs.
        candidates = candidates.prefix_with("MATERIALIZED")
    return (
        update(_JOBS)
        .where(_JOBS.c.id.in_(select(candidates.c.id)), _claimable(now))
        .values(
            status=JobState.RUNNING, lease_owner=bindparam("p_worker"),
            lease_until=lease_until, attempts=_JOBS.c.attempts + 1,
            updated_at=bindparam("p_updated_at"),
        )
        .returning(*_JOBS.c)
    )


@functools.cache
def _any_due_statement(dialect: str) -> Any:
    return select(_JOBS.c.id).where(_claimable(_now_and_lease_end(dialect)[0])).limit(1)


@functools.cache
def _finish_statement(dialect: str) -> Any:
    return (
        update(_JOBS)
        .where(
            _JOBS.c.id.in_(bindparam("p_job_ids", expanding=True)),
            _JOBS.c.status == JobState.RUNNING,
            _JOBS.c.lease_owner == bindparam("p_worker"),
        )
        .values(status=JobState.DONE, lease_until=None, updated_at=bindparam("p_updated_at"))
        .returning(_JOBS.c.id)
    )


def _held_by(job_id: int, worker: str) -> ColumnElement[bool]:
    return and_(JobRow.id == job_id, JobRow.status == JobState.RUNNING, JobRow.lease_owner == worker)


class JobQueries(StoreSessions):
    async def enqueue(
        self, *, kind: JobKind | str, complaint_id: int | None, draft_id: int | None = None,
        payload: dict[str, Any] | None = None,
    ) -> int:
        """Queue a job to run as soon as a worker is free; returns its id."""
        row = new_job_row(kind=kind, complaint_id=complaint_id, draft_id=draft_id,
                          payload=payload, now=self._clock(), due=self._lease_time())
        async with self._write() as session:
            session.add(row)
            await session.flush()
            return row.id

    async def claim_job(
        self, *, worker: str, lease_s: float = 20.0, look_first: bool = True,
    ) -> Job | None:
        """Take the oldest runnable job (queued and due, or running with an expired lease)."""
        jobs = await self.claim_jobs(worker=worker, lease_s=lease_s, look_first=look_first)
        return jobs[0] if jobs else None

    async def claim_jobs(
        self, *, worker: str, lease_s: float = 20.0, look_first: bool = True, limit: int = 1,
    ) -> list[Job]:
        """Take up to ``limit`` of the oldest runnable jobs, oldest first, in one write.

        ``look_first`` reads before writing: an idle worker polls often, and a
        plain read keeps it from taking SQLite's write lock (or Postgres row
        locks) when nothing is due.  A worker that was just woken for a new
        job, or just claimed some, skips it: there is most likely more.
        """
        params: dict[str, Any] = {
            "p_limit": limit, "p_worker": worker, "p_updated_at": self._clock(),
        }
        if self.dialect_name == "postgresql":
            params["p_lease_s"] = timedelta(seconds=lease_s)
        else:
            params["p_now"] = params["p_updated_at"]
            params["p_lease_until"] = params["p_now"] + timedelta(seconds=lease_s)
        if look_first:
            async with self._read_core() as connection:
                due = await connection.scalar(_any_due_statement(self.dialect_name), params)
            if due is None:
                return []
        async with self._write_one() as connection:
            claimed = (
                await connection.execute(_claim_statement(self.dialect_name), params)
            ).all()
        jobs = [Job.from_row(row) for row in claimed]  # type: ignore[arg-type]
        return sorted(jobs, key=lambda job: (job.not_before, job.id))

    async def extend_lease(self, *, job_id: int, worker: str, lease_s: float = 20.0) -> bool:
        """Keep a running job; False means another worker has taken it over."""
        return await self._update_held(
            job_id, worker, lease_until=self._lease_time(lease_s), updated_at=self._clock(),
        )

    async def finish_job(self, *, job_id: int, worker: str) -> bool:
        """Mark the job done; False (and no change) if this worker no longer holds it."""
        return job_id in await self.finish_jobs(job_ids=[job_id], worker=worker)

    async def finish_jobs(self, *, job_ids: Sequence[int], worker: str) -> set[int]:
        """Mark the jobs done in one write; those this worker no longer holds are left as is.

        Returns the ids marked done.
        """
        async with self._write_one() as connection:
            done = await connection.execute(
                _finish_statement(self.dialect_name),
                {"p_job_ids": list(job_ids), "p_worker": worker, "p_updated_at": self._clock()},
            )
            return set(done.scalars())

    async def retry_job_later(
        self, *, job_id: int, worker: str, error: str, delay_s: float,
    ) -> bool:
        """Put the job back in the queue, due in ``delay_s`` seconds."""
        return await self._update_held(
            job_id, worker, status=JobState.QUEUED, not_before=self._lease_time(delay_s),
            lease_owner=None, lease_until=None, last_error=error, updated_at=self._clock(),
        )

    async def fail_job(self, *, job_id: int, worker: str, error: str) -> bool:
        """Give up on the job for good."""
        return await self._update_held(
            job_id, worker, status=JobState.FAILED, lease_until=None, last_error=error,
            updated_at=self._clock(),
        )

    async def pending_job_count(self) -> int:
        """Jobs not finished yet: queued (due or not) and running."""
        async with self._read() as session:
            count = await session.scalar(
                select(func.count()).select_from(JobRow)
                .where(JobRow.status.in_((JobState.QUEUED, JobState.RUNNING)))
            )
            return int(count or 0)

    async def get_job(self, *, job_id: int) -> Job | None:
        async with self._read() as session:
            row = await session.get(JobRow, job_id)
            return Job.from_row(row) if row is not None else None

    async def _update_held(self, job_id: int, worker: str, **values: Any) -> bool:
        async with self._write_one() as connection:
            changed = await connection.scalar(
                update(cast(Table, JobRow.__table__)).where(_held_by(job_id, worker)).values(**values)
                .returning(JobRow.id)
            )
            return changed is not None

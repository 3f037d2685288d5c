"""Leases are judged by one clock: the database's on PostgreSQL, the host's on a SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import StoreOpener


class HostClock:
    """A host whose clock is off by ``skew`` (the store reads it for every lease on SQLite)."""

    def __init__(self, skew: timedelta) -> None:
        self.skew = skew

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.skew


async def test_a_host_whose_clock_runs_ahead_cannot_take_a_live_job_on_postgres(
    open_store: StoreOpener,
) -> None:
    steady = await open_store()
    ahead = HostClock(timedelta(minutes=10))
    hasty = await open_store(clock=ahead)
    job_id = await steady.enqueue(kind="draft", complaint_id=None)
    assert (await steady.claim_job(worker="steady", lease_s=30)) is not None

    taken = await hasty.claim_job(worker="hasty")

    if hasty.dialect_name == "postgresql":
        # The database's clock says the lease runs for 30 s more.
        assert taken is None
        assert await steady.extend_lease(job_id=job_id, worker="steady") is True
        job = await steady.get_job(job_id=job_id)
        assert job is not None and job.lease_owner == "steady"
        # Its due time, too, is the database's "now": a fresh job is due at once.
        fresh = await hasty.enqueue(kind="brief", complaint_id=None)
        claimed = await steady.claim_job(worker="steady")
        assert claimed is not None and claimed.id == fresh
    else:
        # One host per SQLite file: its clock is the store's clock, injectable in tests.
        assert taken is not None and (taken.id, taken.lease_owner) == (job_id, "hasty")
        assert await steady.extend_lease(job_id=job_id, worker="steady") is False

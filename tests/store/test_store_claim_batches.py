"""A burst of jobs is claimed a batch per store write, still each job exactly once."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import StoreOpener

    from app.store import Store


async def _drain_in_batches(store: Store, worker: str, batches: list[tuple[str, list[int]]]) -> None:
    while jobs := await store.claim_jobs(worker=worker, limit=7, look_first=False):
        batches.append((worker, [job.id for job in jobs]))
        for job in jobs:
            assert await store.finish_job(job_id=job.id, worker=worker) is True


async def test_batches_claimed_by_two_hosts_cover_every_job_once_oldest_first(
    open_store: StoreOpener,
) -> None:
    first, second = await open_store(), await open_store()
    queued = [await first.enqueue(kind="brief", complaint_id=None, payload={"n": n})
              for n in range(60)]

    batches: list[tuple[str, list[int]]] = []
    await asyncio.gather(*[
        _drain_in_batches(store, f"{name}-task{t}", batches)
        for name, store in (("host-a", first), ("host-b", second)) for t in range(3)
    ])

    claimed = [job_id for _, ids in batches for job_id in ids]
    assert sorted(claimed) == sorted(queued)  # every job, none twice
    assert all(1 <= len(ids) <= 7 for _, ids in batches)
    assert all(ids == sorted(ids) for _, ids in batches)  # oldest first within a batch
    assert max(len(ids) for _, ids in batches) > 1  # batches, not one job per write
    assert await first.pending_job_count() == 0


async def test_a_batch_takes_only_what_is_due(open_store: StoreOpener) -> None:
    store = await open_store()
    due = [await store.enqueue(kind="brief", complaint_id=None) for _ in range(3)]
    job = await store.claim_job(worker="w")
    assert job is not None and job.id == due[0]
    await store.retry_job_later(job_id=job.id, worker="w", error="busy", delay_s=600)

    taken = await store.claim_jobs(worker="w", limit=10)

    assert [j.id for j in taken] == due[1:]  # the job put back for later stays queued
    assert await store.claim_jobs(worker="w", limit=10) == []

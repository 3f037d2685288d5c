"""An acked event is a durable job: claimed by one worker, recovered when a worker dies."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import asyncpg
import pytest

if TYPE_CHECKING:
    from conftest import StoreFactory, StoreOpener

    from app.store import Job, Store


async def _drain(store: Store, worker: str, claimed: list[tuple[str, int]]) -> None:
    while (job := await store.claim_job(worker=worker)) is not None:
        claimed.append((worker, job.id))
        assert await store.finish_job(job_id=job.id, worker=worker) is True


async def test_two_processes_draining_fifty_jobs_run_each_exactly_once(
    open_store: StoreOpener,
) -> None:
    first, second = await open_store(), await open_store()
    queued = [await first.enqueue(kind="brief", complaint_id=None, payload={"n": n})
              for n in range(50)]

    claimed: list[tuple[str, int]] = []
    await asyncio.gather(*[
        _drain(store, f"{name}-task{t}", claimed)
        for name, store in (("host-a", first), ("host-b", second)) for t in range(4)
    ])

    job_ids = [job_id for _, job_id in claimed]
    assert sorted(job_ids) == sorted(queued)  # every job, none twice
    assert {worker.split("-task")[0] for worker, _ in claimed} == {"host-a", "host-b"}
    assert await first.pending_job_count() == 0


async def test_a_dead_workers_job_is_taken_over_once_its_lease_expires(
    open_store: StoreOpener,
) -> None:
    crashed_host, healthy_host = await open_store(), await open_store()
    job_id = await crashed_host.enqueue(kind="draft", complaint_id=None)

    taken = await crashed_host.claim_job(worker="crashed", lease_s=0.2)
    assert taken is not None and taken.id == job_id
    assert await healthy_host.claim_job(worker="healthy") is None  # lease still valid

    await asyncio.sleep(0.3)
    recovered = await healthy_host.claim_job(worker="healthy")
    assert recovered is not None
    assert (recovered.id, recovered.lease_owner, recovered.attempts) == (job_id, "healthy", 2)

    # The crashed worker wakes up: it has lost the job and must not finish it.
    assert await crashed_host.extend_lease(job_id=job_id, worker="crashed") is False
    assert await crashed_host.finish_job(job_id=job_id, worker="crashed") is False
    assert await healthy_host.extend_lease(job_id=job_id, worker="healthy") is True
    assert await healthy_host.finish_job(job_id=job_id, worker="healthy") is True
    done = await healthy_host.get_job(job_id=job_id)
    assert done is not None and done.status == "done"


async def test_a_job_that_hit_a_rate_limit_waits_before_it_runs_again(store: Store) -> None:
    # Real time: on PostgreSQL the database's clock says when a job is due.
    job_id = await store.enqueue(kind="draft", complaint_id=None)
    job = await store.claim_job(worker="w1")
    assert job is not None

    assert await store.retry_job_later(job_id=job_id, worker="w1",
                                       error="LLM unavailable: 429", delay_s=0.5) is True
    assert await store.claim_job(worker="w1") is None
    assert await store.pending_job_count() == 1

    await asyncio.sleep(0.6)
    again: Job | None = await store.claim_job(worker="w2")
    assert again is not None
    assert (again.id, again.attempts, again.last_error) == (job_id, 2, "LLM unavailable: 429")


async def test_a_job_that_keeps_failing_is_given_up(store: Store) -> None:
    job_id = await store.enqueue(kind="regenerate", complaint_id=None, draft_id=7,
                                 payload={"tone": "warmer"})
    job = await store.claim_job(worker="w1")
    assert job is not None and (job.kind, job.draft_id, job.payload) == (
        "regenerate", 7, {"tone": "warmer"})

    assert await store.fail_job(job_id=job_id, worker="w1", error="bad output twice") is True
    failed = await store.get_job(job_id=job_id)
    assert failed is not None and (failed.status, failed.last_error) == (
        "failed", "bad output twice")
    assert await store.pending_job_count() == 0
    assert await store.claim_job(worker="w1") is None


async def test_the_oldest_job_is_claimed_first(store: Store) -> None:
    first = await store.enqueue(kind="draft", complaint_id=None)
    second = await store.enqueue(kind="brief", complaint_id=None)
    claimed = [await store.claim_job(worker="w"), await store.claim_job(worker="w")]
    assert [job.id for job in claimed if job] == [first, second]


async def test_on_postgres_the_hot_path_writes_are_one_round_trip_each(
    open_store: StoreOpener, database_url: str, factory: StoreFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # BEGIN and COMMIT around one statement are two round trips more for the same
    # atomicity: one-statement writes run in autocommit, and a watched message's
    # event id, complaint and job go in as one statement, as does its first draft.
    if not database_url.startswith("postgres"):
        pytest.skip("PostgreSQL only: a SQLite write takes the lock with BEGIN IMMEDIATE")
    store = await open_store()
    job_id = await store.enqueue(kind="brief", complaint_id=None)
    begun = 0
    real_start = asyncpg.transaction.Transaction.start

    async def counted_start(self: asyncpg.transaction.Transaction) -> None:
        nonlocal begun
        begun += 1
        await real_start(self)

    monkeypatch.setattr(asyncpg.transaction.Transaction, "start", counted_start)

    job = await store.claim_job(worker="w", look_first=False)
    assert job is not None and job.id == job_id
    assert await store.finish_job(job_id=job_id, worker="w") is True
    assert await store.first_delivery(event_id="Ev0ONE") is True
    accepted = await store.accept_complaint(complaint=factory.complaint(), event_id="Ev0TWO")
    assert accepted is not None
    draft = await store.save_new_draft(complaint_id=accepted.complaint_id, result=factory.result())
    assert draft is not None
    await store.set_card(draft_id=draft.id, channel="C0REVIEW", ts="1712000000.000500")
    assert begun == 0
    # A draft an agent asks for takes a lock and checks first: a transaction still.
    asked = factory.complaint("1712000000.000900", source="mention")
    assert await store.accept_complaint(complaint=asked) is not None
    assert begun == 1

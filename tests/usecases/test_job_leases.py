"""A job runs under a lease: when the lease is lost the job stops, and its outcome is not ours."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.store import Job, Store
from app.usecases.jobs import JobRunner
from tests.fakes.clocks import SteppingClock


class SlowDraft:
    """A handler that works until cancelled, and says whether it was."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.cancelled = asyncio.Event()

    async def __call__(self, job: Job) -> None:
        self.started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            self.cancelled.set()
            raise


async def _nothing(job: Job, error: str) -> None:
    raise AssertionError(f"no job should be given up here ({error})")


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock()


@pytest.fixture
async def host_store(tmp_path: Path, clock: SteppingClock) -> AsyncIterator[Store]:
    store = await Store.open(f"sqlite:///{tmp_path / 'jobs.db'}", clock=clock)
    yield store
    await store.close()


async def _run_until(runner: JobRunner, condition: asyncio.Event) -> None:
    running = asyncio.create_task(runner.run())
    try:
        await asyncio.wait_for(condition.wait(), 5)
    finally:
        await runner.stop()
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)


async def test_a_job_taken_over_by_another_host_stops_here_and_is_not_finished(
    host_store: Store, clock: SteppingClock,
) -> None:
    draft = SlowDraft()
    runner = JobRunner(host_store, {"draft": draft}, worker_id="host-a", concurrency=1,
                       lease_s=0.2, give_up=_nothing)
    job_id = await host_store.enqueue(kind="draft", complaint_id=None)

    async def take_over() -> None:
        await asyncio.wait_for(draft.started.wait(), 5)
        # To host B the lease has run out (host A's heartbeat may renew it first: try again).
        while await host_store.claim_job(worker="host-b", lease_s=600) is None:
            clock.advance(60)

    await asyncio.gather(take_over(), _run_until(runner, draft.cancelled))

    job = await host_store.get_job(job_id=job_id)
    assert job is not None
    assert (job.status, job.lease_owner, job.last_error) == ("running", "host-b", None)


async def test_a_job_whose_lease_cannot_be_extended_for_a_whole_lease_stops(
    host_store: Store, monkeypatch: pytest.MonkeyPatch,
) -> None:
    draft = SlowDraft()
    runner = JobRunner(host_store, {"draft": draft}, worker_id="host-a", concurrency=1,
                       lease_s=0.2, give_up=_nothing)
    job_id = await host_store.enqueue(kind="draft", complaint_id=None)

    async def unreachable(**_: object) -> bool:
        raise OSError("connection refused")

    monkeypatch.setattr(host_store, "extend_lease", unreachable)
    await _run_until(runner, draft.cancelled)

    job = await host_store.get_job(job_id=job_id)
    assert job is not None and (job.status, job.last_error) == ("running", None)


async def test_a_job_that_keeps_its_lease_is_finished(host_store: Store) -> None:
    async def quick_draft(job: Job) -> None:
        await asyncio.sleep(0.3)  # several heartbeats

    runner = JobRunner(host_store, {"draft": quick_draft}, worker_id="host-a", concurrency=1,
                       lease_s=0.2, give_up=_nothing)
    job_id = await host_store.enqueue(kind="draft", complaint_id=None)
    finished = asyncio.Event()

    async def watch() -> None:
        # The store is polled: no event tells another host that a job is done.
        for _ in range(250):
            job = await host_store.get_job(job_id=job_id)
            if job is not None and job.status == "done":
                finished.set()
                return
            await asyncio.sleep(0.02)

    await asyncio.gather(watch(), _run_until(runner, finished))
    job = await host_store.get_job(job_id=job_id)
    assert job is not None and (job.status, job.attempts, job.lease_owner) == ("done", 1, "host-a")


async def test_jobs_finished_together_are_marked_done_in_one_write(
    host_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[list[int]] = []
    real_finish = host_store.finish_jobs

    async def counted(*, job_ids: list[int], worker: str) -> set[int]:
        writes.append(sorted(job_ids))
        return await real_finish(job_ids=job_ids, worker=worker)

    monkeypatch.setattr(host_store, "finish_jobs", counted)
    ran = 0

    async def quick_draft(job: Job) -> None:
        nonlocal ran
        ran += 1

    runner = JobRunner(host_store, {"draft": quick_draft}, worker_id="host-a", concurrency=20,
                       lease_s=30, give_up=_nothing)
    ids = [await host_store.enqueue(kind="draft", complaint_id=None) for _ in range(12)]
    running = asyncio.create_task(runner.run())
    try:
        for _ in range(250):
            if ran == len(ids):
                break
            await asyncio.sleep(0.01)
        # Stopping right after the jobs ran still records them: nothing is left to its lease.
    finally:
        await runner.stop()
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)

    assert sorted(i for batch in writes for i in batch) == ids
    assert len(writes) < len(ids) / 2
    jobs = [await host_store.get_job(job_id=job_id) for job_id in ids]
    assert {(job.status, job.lease_owner) for job in jobs if job is not None} == {
        ("done", "host-a")
    }

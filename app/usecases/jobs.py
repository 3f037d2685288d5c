"""The job runner: durable jobs from the store, run concurrently after the ack.

A listener only records a job and wakes the runner.  Jobs are claimed with
a lease in the store, so if this process dies mid-draft another process (or
this one, restarted) claims the job once the lease runs out and finishes
it, reusing the card that was already posted.  A job whose lease is lost
(taken over, or not extended for a whole lease) is stopped here, and leaves
its outcome to the worker that holds it now.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

import structlog

from app import metrics
from app.store import Job, JobClaim, Store
from app.usecases.ack_first import AckFirst
from app.usecases.ports import SlackFailure

log = structlog.get_logger(__name__)

HEARTBEAT_S = 10.0
POLL_S = 1.0
RETRY_S = 5.0
MAX_ATTEMPTS = 5
# Jobs claimed in one store write when that many slots are free.
CLAIM_BATCH = 16
# How long finished jobs gather before they are marked done in one write.
FINISH_BATCH_S = 0.05

Handler = Callable[[Job], Coroutine[Any, Any, None]]
GiveUp = Callable[[Job, str], Awaitable[None]]


class JobRunner:
    def __init__(
        self,
        store: Store,
        handlers: Mapping[str, Handler],
        *,
        worker_id: str,
        concurrency: int,
        lease_s: float,
        give_up: GiveUp,
        ack_first: AckFirst | None = None,
    ) -> None:
        self._store = store
        # Claims step aside while Slack waits for an ack (ack_first.py).
        self._ack_first = ack_first or AckFirst()
        self._handlers = handlers
        self._worker_id = worker_id
        self._give_up = give_up
        self._slots = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._finished: list[int] = []
        self._marking: asyncio.Task[None] | None = None
        self._stopping = False
        self._lease_s = lease_s
        # Three heartbeats per lease, so one slow store write never loses a live job; not
        # more: under a burst each is a turn at SQLite's one write lock that acks wait for.
        self._heartbeat_s = min(HEARTBEAT_S, lease_s / 3)

    def wake(self) -> None:
        self._wake.set()

    async def reserve(self) -> JobClaim | None:
        """A free slot, taken, for a job this worker is about to queue; None when all are busy.

        The job is then stored already leased to this worker (``accept_complaint``'s
        claim) and handed over with ``adopt``, or the slot given back with ``unreserve``.
        """
        if self._stopping or self._slots.locked():
            return None
        await self._slots.acquire()  # a free slot: taken without waiting
        return JobClaim(worker=self._worker_id, lease_s=self._lease_s)

    def adopt(self, job: Job) -> None:
        """Run a job stored already leased to this worker, in the slot ``reserve`` took.

        Stopping meanwhile, the job is left to its lease: once it runs out, this
        worker restarted or another one claims it.
        """
        if self._stopping:
            self._slots.release()
            return
        task = asyncio.create_task(self._run(job))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def unreserve(self) -> None:
        self._slots.release()

    async def run(self) -> None:
        """Claim and start jobs until stopped; never more than ``concurrency`` at once."""
        look_first = True
        while not self._stopping:
            free = await self._free_slots()
            await self._ack_first.let_acks_pass()
            # Woken for a new job, or just after a claim: there is most likely work,
            # so skip the idle poll's read and claim straight away.
            look_first = look_first and not self._wake.is_set()
            self._wake.clear()
            try:
                jobs = await self._store.claim_jobs(
                    worker=self._worker_id, lease_s=self._lease_s, look_first=look_first,
                    limit=free,
                )
            except Exception:
                self._release(free)
                log.exception("job_claim_failed")
                await asyncio.sleep(POLL_S)
                continue
            self._release(free - len(jobs))
            look_first = not jobs
            if not jobs:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), POLL_S)
                continue
            for job in jobs:
                self.adopt(job)

    async def _free_slots(self) -> int:
        """Wait for one free slot, then take every other free one, up to CLAIM_BATCH.

        A burst is claimed a batch per write, not a write per job: on SQLite
        each write is a turn at the one write lock that acks also wait for.
        """
        await self._slots.acquire()
        taken = 1
        while taken < CLAIM_BATCH and not self._slots.locked():
            await self._slots.acquire()
            taken += 1
        return taken

    def _release(self, slots: int) -> None:
        for _ in range(slots):
            self._slots.release()

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._marking is not None:
            await self._marking

    async def _run(self, job: Job) -> None:
        metrics.JOBS_RUNNING.inc()
        lease = _Lease()
        try:
            with structlog.contextvars.bound_contextvars(job_id=job.id, job_kind=job.kind):
                # The handler runs as its own task so that losing the lease can stop it.
                work = asyncio.create_task(self._handlers[job.kind](job))
            heartbeat = asyncio.create_task(self._heartbeat(job.id, work, lease))
            try:
                await work
            finally:
                heartbeat.cancel()
                await asyncio.gather(heartbeat, return_exceptions=True)
            self._mark_done(job.id)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if lease.lost and current is not None and not current.cancelling():
                # Another worker owns the job now; its outcome is theirs to record.
                log.warning("job_stopped_lease_lost", job_id=job.id)
                return
            raise
        except Exception as exc:
            # Slack refusing after its own retries, or a busy database: try again
            # later; after MAX_ATTEMPTS, show the agent a card with Retry.
            error = exc.error if isinstance(exc, SlackFailure) else type(exc).__name__
            log.warning(
                "job_failed", job_id=job.id, error=error, attempts=job.attempts, exc_info=True
            )
            try:
                await self._after_failure(job, error)
            except Exception:
                # The lease runs out and another attempt claims the job.
                log.exception("job_failure_not_recorded", job_id=job.id)
        finally:
            metrics.JOBS_RUNNING.dec()
            self._slots.release()

    def _mark_done(self, job_id: int) -> None:
        self._finished.append(job_id)
        if self._marking is None:
            self._marking = asyncio.create_task(self._mark_finished())

    async def _mark_finished(self) -> None:
        """Mark finished jobs done, a batch per store write.

        Under a burst hundreds of jobs finish within a second, and a write each
        was a turn at SQLite's one write lock that acks wait for.  A job whose
        mark is lost (the process dies, the store fails) is claimed again when
        its lease ends, and its re-run finds its card already posted.
        """
        try:
            while self._finished:
                await asyncio.sleep(FINISH_BATCH_S)
                await self._ack_first.let_acks_pass()
                finished, self._finished = self._finished, []
                try:
                    await self._store.finish_jobs(job_ids=finished, worker=self._worker_id)
                except Exception:
                    log.warning("jobs_not_marked_done", jobs=finished, exc_info=True)
        finally:
            self._marking = None

    async def _after_failure(self, job: Job, error: str) -> None:
        if job.attempts < MAX_ATTEMPTS:
            await self._store.retry_job_later(
                job_id=job.id, worker=self._worker_id, error=error, delay_s=RETRY_S * job.attempts
            )
            return
        await self._store.fail_job(job_id=job.id, worker=self._worker_id, error=error)
        await self._give_up(job, error)

    async def _heartbeat(self, job_id: int, work: asyncio.Task[None], lease: _Lease) -> None:
        """Extend the lease while the job runs; stop the job once the lease is gone.

        Gone means another worker took the job, or no extension got through
        for a whole lease (the store unreachable): by then another worker may
        have claimed it, and two must never run one job.
        """
        held_until = time.monotonic() + self._lease_s
        while True:
            await asyncio.sleep(self._heartbeat_s)
            try:
                kept = await self._store.extend_lease(
                    job_id=job_id, worker=self._worker_id, lease_s=self._lease_s
                )
            except Exception:
                log.warning("job_lease_not_extended", job_id=job_id, exc_info=True)
                kept = time.monotonic() < held_until
            else:
                if kept:
                    held_until = time.monotonic() + self._lease_s
            if not kept:
                log.warning("job_lease_lost", job_id=job_id)
                lease.lost = True
                work.cancel()
                return


class _Lease:
    """What the heartbeat tells the job's runner: whether it cancelled the job."""

    lost = False

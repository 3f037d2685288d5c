"""The drafting job worker: durable jobs from the store, run concurrently.

A listener only records a job and wakes the worker; the LLM work happens
here, after Slack has its ack.  Jobs are claimed with a lease in the store,
so if this process dies mid-draft another process (or this one, restarted)
claims the job once the lease runs out and finishes it, reusing the card
that was already posted.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace
from typing import Any

import structlog
from slack_sdk.errors import SlackApiError

from app import metrics
from app.domain.models import Complaint as DomainComplaint
from app.domain.ports import LLMBadOutput, LLMError
from app.slack.cards import publish_card, refresh_card
from app.slack.services import Services
from app.slack.threads import history_before
from app.store import Complaint, Job

log = structlog.get_logger(__name__)

# The lease itself is Settings.job_lease_s (TACTFUL_JOB_LEASE_SECONDS, default 20 s).
HEARTBEAT_S = 5.0
POLL_S = 1.0
RETRY_S = 5.0
MAX_ATTEMPTS = 5


class JobWorker:
    def __init__(self, services: Services, *, concurrency: int) -> None:
        self._services = services
        self._slots = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._lease_s = services.settings.job_lease_s
        # Several heartbeats per lease, so one slow store write never loses a live job.
        self._heartbeat_s = min(HEARTBEAT_S, self._lease_s / 4)

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Claim and start jobs until stopped; never more than ``concurrency`` at once."""
        store = self._services.store
        while not self._stopping:
            await self._slots.acquire()
            try:
                job = await store.claim_job(worker=self._services.worker_id, lease_s=self._lease_s)
            except Exception:
                self._slots.release()
                log.exception("job_claim_failed")
                await asyncio.sleep(POLL_S)
                continue
            if job is None:
                self._slots.release()
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), POLL_S)
                continue
            task = asyncio.create_task(self._run(job))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _run(self, job: Job) -> None:
        store, worker = self._services.store, self._services.worker_id
        heartbeat = asyncio.create_task(self._heartbeat(job.id))
        metrics.JOBS_RUNNING.inc()
        bound = structlog.contextvars.bound_contextvars(job_id=job.id, job_kind=job.kind)
        try:
            with bound:
                await JOB_KINDS[job.kind](self._services, job)
            await store.finish_job(job_id=job.id, worker=worker)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # Slack refusing after its own retries, or a busy database: try again
            # later; after MAX_ATTEMPTS, show the agent a card with Retry.
            error = (
                str(exc.response.get("error"))
                if isinstance(exc, SlackApiError)
                else type(exc).__name__
            )
            log.warning(
                "job_failed", job_id=job.id, error=error, attempts=job.attempts, exc_info=True
            )
            try:
                if job.attempts < MAX_ATTEMPTS:
                    await store.retry_job_later(
                        job_id=job.id, worker=worker, error=error, delay_s=RETRY_S * job.attempts
                    )
                else:
                    await store.fail_job(job_id=job.id, worker=worker, error=error)
                    await _give_up(self._services, job, error)
            except Exception:
                # The lease runs out and another attempt claims the job.
                log.exception("job_failure_not_recorded", job_id=job.id)
        finally:
            heartbeat.cancel()
            metrics.JOBS_RUNNING.dec()
            self._slots.release()

    async def _heartbeat(self, job_id: int) -> None:
        while True:
            await asyncio.sleep(self._heartbeat_s)
            kept = await self._services.store.extend_lease(
                job_id=job_id, worker=self._services.worker_id, lease_s=self._lease_s
            )
            if not kept:
                log.warning("job_lease_lost", job_id=job_id)
                return


async def _domain_complaint(services: Services, complaint: Complaint) -> DomainComplaint:
    history = []
    root = complaint.thread_ts or complaint.message_ts
    if complaint.thread_ts and complaint.thread_ts != complaint.message_ts:
        try:
            history = await history_before(
                services.client,
                services.agents,
                channel=complaint.channel_id,
                thread_ts=root,
                before_ts=complaint.message_ts,
            )
        except SlackApiError as exc:
            log.warning("thread_history_unavailable", error=exc.response.get("error"))
    return DomainComplaint(
        text=complaint.text,
        customer_name=complaint.user_name,
        channel_context=None,
        history=history,
    )


async def _with_permalink(services: Services, complaint: Complaint) -> Complaint:
    """The card links to the customer's message; Slack builds the link, once per complaint."""
    if complaint.permalink:
        return complaint
    try:
        response = await services.client.chat_getPermalink(
            channel=complaint.channel_id, message_ts=complaint.message_ts
        )
    except SlackApiError as exc:
        log.info("permalink_unavailable", error=exc.response.get("error"))
        return complaint
    link = str(response["permalink"])
    await services.store.set_permalink(complaint_id=complaint.id, permalink=link)
    return replace(complaint, permalink=link)


async def run_draft_job(services: Services, job: Job) -> None:
    """Triage a watched message; if it needs a reply, post a card and fill it with a draft."""
    store, pipeline = services.store, services.drafting.pipeline
    assert job.complaint_id is not None
    complaint = await store.get_complaint(complaint_id=job.complaint_id)
    if complaint is None:
        return
    forced = complaint.source != "watch" or bool(job.payload.get("force"))
    complaint = await _with_permalink(services, complaint)
    domain = await _domain_complaint(services, complaint)
    try:
        triaged = await pipeline.triage(domain)
    except LLMError as exc:
        await _fail_visibly(services, complaint, exc)
        return
    # Watching drafts complaints only: questions and praise are counted, not drafted.
    drafted = triaged.value.kind == "complaint" and triaged.value.needs_reply
    if not forced and not drafted:
        metrics.MESSAGES_SEEN.labels(outcome=f"not_drafted_{triaged.value.kind}").inc()
        log.info("message_needs_no_reply", kind=triaged.value.kind)
        return
    draft = await store.start_draft(complaint_id=complaint.id)
    if draft.status == "superseded":
        return
    structlog.contextvars.bind_contextvars(complaint_id=complaint.id, draft_id=draft.id)
    draft = await publish_card(services, complaint, draft)
    try:
        result = await pipeline.draft(domain, triage=triaged.value, guidance=complaint.guidance)
    except LLMError as exc:
        await _mark_failed(services, draft.id, exc)
        return
    result = result.model_copy(
        update={"usage": result.usage + triaged.usage, "llm_ms": result.llm_ms + triaged.latency_ms}
    )
    await store.save_draft_result(draft_id=draft.id, result=result)
    metrics.DRAFTS.labels(outcome="drafted").inc()
    await refresh_card(services, draft.id)


async def run_regenerate_job(services: Services, job: Job) -> None:
    """Rewrite a pending draft in another tone or after the agent's guidance."""
    store = services.store
    draft = await store.get_draft(draft_id=int(job.payload["draft_id"]))
    if draft is None or draft.status != "pending":
        return
    complaint = await store.get_complaint(complaint_id=draft.complaint_id)
    assert complaint is not None
    previous = draft.as_result()
    if previous is None:
        return
    try:
        result = await services.drafting.pipeline.rewrite(
            await _domain_complaint(services, complaint),
            previous,
            tone=job.payload.get("tone"),
            guidance=job.payload.get("guidance"),
        )
    except LLMError as exc:
        await store.note_draft_error(draft_id=draft.id, error=_explain(exc))
        await refresh_card(services, draft.id)
        return
    await store.replace_result(
        draft_id=draft.id, result=result, user_id=str(job.payload.get("user_id", ""))
    )
    metrics.DRAFTS.labels(outcome="regenerated").inc()
    await refresh_card(services, draft.id)


def _explain(exc: LLMError) -> str:
    kind = "bad_output" if isinstance(exc, LLMBadOutput) else "unavailable"
    metrics.LLM_ERRORS.labels(kind=kind).inc()
    return str(exc)


async def _mark_failed(services: Services, draft_id: int, exc: LLMError) -> None:
    await services.store.mark_draft_failed(draft_id=draft_id, error=_explain(exc))
    metrics.DRAFTS.labels(outcome="failed").inc()
    await refresh_card(services, draft_id)


async def _give_up(services: Services, job: Job, error: str) -> None:
    """A draft job that kept failing: its card says so and offers Retry, so nothing is lost."""
    if job.kind != "draft" or job.complaint_id is None:
        return
    complaint = await services.store.get_complaint(complaint_id=job.complaint_id)
    if complaint is None:
        return
    draft = await services.store.start_draft(complaint_id=complaint.id)
    if draft.status != "drafting":
        return
    if not draft.card_ts:
        draft = await publish_card(services, complaint, draft)
    await services.store.mark_draft_failed(
        draft_id=draft.id, error=f"drafting kept failing ({error}); press Retry to try again"
    )
    metrics.DRAFTS.labels(outcome="failed").inc()
    await refresh_card(services, draft.id)


async def _fail_visibly(services: Services, complaint: Complaint, exc: LLMError) -> None:
    """Triage failed: the message may be a complaint, so agents see a card with Retry."""
    draft = await services.store.start_draft(complaint_id=complaint.id)
    draft = await publish_card(services, complaint, draft)
    await _mark_failed(services, draft.id, exc)


JOB_KINDS: dict[str, Any] = {"draft": run_draft_job, "regenerate": run_regenerate_job}

"""A complaint's drafting job starts on the instance that acked it, without a trip through the queue.

With a slot free, the job is stored already leased to this worker and run at
once; with every slot busy it waits in the queue like any job, and is claimed
when a slot frees up.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.fakes.slack_api import FakeSlack
from tests.slack.conftest import (
    HOLD,
    GatedOpenAI,
    RunningBot,
    all_jobs_done,
    bot_settings,
    cards_posted,
    start_bot,
    stop_bot,
    wait_until,
)


def record_queue_claims(running: RunningBot) -> list[int]:
    """Ids of the jobs the runner took from the queue (claim_jobs), as it takes them."""
    store, claimed = running.store, []
    claim_jobs = store.claim_jobs

    async def recording(**kwargs: Any) -> Any:
        jobs = await claim_jobs(**kwargs)
        claimed.extend(job.id for job in jobs)
        return jobs

    store.claim_jobs = recording
    return claimed


async def test_a_complaint_is_drafted_by_the_worker_that_acked_it_without_a_queue_claim(
    running: RunningBot,
) -> None:
    claimed = record_queue_claims(running)
    ts, status = await running.customer_says("My parcel arrived crushed and nobody answers.")
    assert status == 200

    await running.card_for(ts)
    await wait_until(lambda: all_jobs_done(running))
    assert claimed == [], "the job never went through the queue"
    assert len(cards_posted(running.slack)) == 1
    job = await running.store.get_job(job_id=1)  # a fresh store: the story's one job
    assert (job.status, job.attempts, job.lease_owner) == ("done", 1, running.bot.worker_id)


@pytest.fixture
async def one_slot_bot(
    slack: FakeSlack, gated_llm: GatedOpenAI, database_url: str
) -> AsyncIterator[RunningBot]:
    settings = bot_settings(slack, gated_llm, database_url, TACTFUL_MAX_CONCURRENT_DRAFTS="1")
    bot = await start_bot(settings, slack, gated_llm)
    try:
        yield bot
    finally:
        gated_llm.release()
        await stop_bot(bot)


async def test_with_every_slot_busy_a_complaint_waits_in_the_queue_and_is_drafted_later(
    one_slot_bot: RunningBot, gated_llm: GatedOpenAI,
) -> None:
    running = one_slot_bot
    claimed = record_queue_claims(running)
    first, _ = await running.customer_says(f"{HOLD}: the invoice charged me twice.")
    await gated_llm.wait_held()
    second, status = await running.customer_says("My parcel arrived crushed and nobody answers.")
    assert status == 200

    assert await running.store.pending_job_count() == 2  # the held one, and one queued
    assert claimed == []
    gated_llm.release()
    await running.card_for(first)
    await running.card_for(second)
    assert len(claimed) == 1, "the second job was claimed from the queue once a slot was free"
    assert len(cards_posted(running.slack)) == 2

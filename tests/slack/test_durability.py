"""Stories of restarts and crashes: the store, not the process, holds the work.

A card posted before a restart can still be approved by the new process; a
process killed while the model is writing leaves a leased job that the next
process takes over once the lease runs out, finishing the same card instead
of posting another.
"""

from __future__ import annotations

import asyncio

from app.store import Store
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.slack_api import FakeSlack
from tests.slack.conftest import (
    AGENT,
    HOLD,
    SUPPORT,
    GatedOpenAI,
    RunningBot,
    approve_click,
    bot_settings,
    card_updates,
    cards_posted,
    finished_job,
    replies_to_customers,
    start_bot,
    stop_bot,
    wait_until,
)

LEASE_S = 1.0  # TACTFUL_JOB_LEASE_SECONDS for these stories; production keeps 20 s


async def test_a_card_posted_before_a_restart_is_approved_after_it(
    slack: FakeSlack, llm: FakeOpenAI, database_url: str
) -> None:
    settings = bot_settings(slack, llm, database_url)
    before = await start_bot(settings, slack, llm)
    try:
        ts, _ = await before.customer_says("Your app charged my card for a plan I cancelled in May.")
        draft = await before.card_for(ts)
    finally:
        await stop_bot(before)

    after = await start_bot(settings, slack, llm)
    try:
        assert after.bot.worker_id != before.bot.worker_id
        status, _ = await after.post(approve_click(draft))
        assert status == 200
        sent = await after.card_for(ts, status="sent")
        await wait_until(lambda: any("*Sent* by" in str(c.args["blocks"])
                                     for c in card_updates(slack, draft.card_ts or "")))
    finally:
        await stop_bot(after)

    replies = replies_to_customers(slack)
    assert len(replies) == 1
    assert replies[0].args["text"] == draft.text
    assert replies[0].args["thread_ts"] == ts
    assert sent.decided_by == AGENT and sent.sent_ts == replies[0].response["ts"]
    assert len(cards_posted(slack)) == 1, "the restarted bot reused the card, it did not post one"


async def test_a_bot_killed_mid_draft_is_finished_by_the_next_one_on_the_same_card(
    slack: FakeSlack, gated_llm: GatedOpenAI, database_url: str
) -> None:
    settings = bot_settings(slack, gated_llm, database_url, TACTFUL_JOB_LEASE_SECONDS=LEASE_S)
    doomed = await start_bot(settings, slack, gated_llm)
    try:
        ts, status = await doomed.customer_says(f"The sofa came with a torn cushion. {HOLD}")
        assert status == 200
        await gated_llm.wait_held()
        assert cards_posted(slack) == [], "the card waits for the draft"
    finally:
        await stop_bot(doomed)  # the process dies while the model is still writing
    doomed_worker = doomed.bot.worker_id
    killed_at = asyncio.get_running_loop().time()

    # What the dead process left behind: a running job nobody renews, no draft yet.
    async with await Store.open(database_url) as store:
        complaint = await store.find_complaint(channel_id=SUPPORT, message_ts=ts, source="watch")
        assert complaint is not None
        assert await store.latest_draft(complaint_id=complaint.id) is None
        job = await store.get_job(job_id=1)  # the first job of a fresh database
        assert job is not None and job.complaint_id == complaint.id
        assert job.status == "running" and job.lease_owner == doomed_worker

    gated_llm.release()
    successor: RunningBot = await start_bot(settings, slack, gated_llm)
    try:
        finished = await successor.card_for(ts, timeout=LEASE_S + 8)
        recovered_in = asyncio.get_running_loop().time() - killed_at
        job = await wait_until(lambda: finished_job(successor.store, job.id))
    finally:
        await stop_bot(successor)

    assert recovered_in < LEASE_S + 5
    assert job.attempts == 2 and job.lease_owner != doomed_worker, "claimed again by the successor"
    assert finished.text, "the successor wrote the draft"
    cards = cards_posted(slack)
    assert len(cards) == 1, "one acked event, one card"
    assert cards[0].response["ts"] == finished.card_ts
    assert card_updates(slack, finished.card_ts or "") == [], "posted already filled"
    assert replies_to_customers(slack) == []

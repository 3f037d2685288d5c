"""Stories of two tactful instances behind one load balancer, sharing one PostgreSQL database.

Both start at once on an empty database, both get Slack's deliveries and the
agents' clicks, and still: one card per message, one reply per approval, and
a job the dying instance held is finished by the other.  Dedupe and claims
live in the database, never in either process.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.fakes.openai_api import FIRST_DRAFT, FakeOpenAI, schema_name
from tests.fakes.signing import event_callback_body, message_event
from tests.fakes.slack_api import FakeSlack
from tests.slack.conftest import (
    AGENT,
    CUSTOMER,
    CUSTOMER_TEAM,
    GROUP_AGENT,
    HOLD,
    SUPPORT,
    GatedOpenAI,
    RunningBot,
    all_jobs_done,
    approve_click,
    bot_settings,
    cards_posted,
    ephemerals_to,
    finished_job,
    next_ts,
    replies_to_customers,
    start_bot,
    stop_bot,
    wait_until,
)

LEASE_S = 1.0


async def start_pair(settings: Any, slack: FakeSlack, llm: FakeOpenAI) -> list[RunningBot]:
    # Both migrate the empty database at the same moment, as two pods starting together would.
    started = await asyncio.gather(
        start_bot(settings, slack, llm), start_bot(settings, slack, llm), return_exceptions=True
    )
    bots = [b for b in started if isinstance(b, RunningBot)]
    if len(bots) != 2:
        await asyncio.gather(*(stop_bot(b) for b in bots))
        raise next(b for b in started if isinstance(b, BaseException))
    return bots


@pytest.fixture
async def pair(
    slack: FakeSlack, llm: FakeOpenAI, fresh_postgres_url: str
) -> AsyncIterator[list[RunningBot]]:
    bots = await start_pair(bot_settings(slack, llm, fresh_postgres_url), slack, llm)
    try:
        yield bots
    finally:
        await asyncio.gather(*(stop_bot(b) for b in bots))


async def test_the_same_event_delivered_to_both_instances_gets_one_card(pair: list[RunningBot]) -> None:
    one, other = pair
    text = "Your technician never showed up and I took the day off for it."
    ts = next_ts()
    one.slack.add_message(SUPPORT, ts, text, user=CUSTOMER)
    event = message_event(SUPPORT, text, user=CUSTOMER, ts=ts, user_team=CUSTOMER_TEAM)

    statuses = await asyncio.gather(
        one.post(event_callback_body(event, event_id="Ev0BOTH")),
        other.post(event_callback_body(event, event_id="Ev0BOTH", retry_num=1)),
        other.post(event_callback_body({**event, "subtype": "thread_broadcast"}, event_id="Ev0OTHER")),
    )
    assert [status for status, _ in statuses] == [200, 200, 200]

    await one.card_for(ts)
    await wait_until(lambda: all_jobs_done(one))
    assert (await other.store.stats()).complaints == 1
    assert sum(1 for r in one.llm.requests if schema_name(r) == FIRST_DRAFT) == 1
    assert len(cards_posted(one.slack)) == 1
    assert not await one.store.first_delivery(event_id="Ev0BOTH")


async def test_twenty_approve_clicks_across_both_instances_send_one_reply(pair: list[RunningBot]) -> None:
    one, other = pair
    ts, _ = await other.customer_says("I've been double billed for March and April. Fix it.")
    draft = await one.card_for(ts)

    clicks = [
        (one if n % 2 else other).post(approve_click(draft, user=AGENT if n % 3 else GROUP_AGENT))
        for n in range(20)
    ]
    statuses = await asyncio.gather(*clicks)
    assert [status for status, _ in statuses] == [200] * 20

    def notes() -> list[str]:
        return ephemerals_to(one.slack, AGENT) + ephemerals_to(one.slack, GROUP_AGENT)

    sent = await one.card_for(ts, status="sent")
    await wait_until(lambda: len(notes()) >= 19)
    assert len(notes()) == 19
    replies = replies_to_customers(one.slack)
    assert len(replies) == 1
    assert replies[0].args["thread_ts"] == ts and replies[0].response["ts"] == sent.sent_ts
    approvals = [d for d in await other.store.decisions(draft_id=draft.id) if d.action == "approve"]
    assert len(approvals) == 1


async def test_a_job_held_by_a_dying_instance_is_finished_by_the_other(
    slack: FakeSlack, gated_llm: GatedOpenAI, fresh_postgres_url: str
) -> None:
    settings = bot_settings(slack, gated_llm, fresh_postgres_url, TACTFUL_JOB_LEASE_SECONDS=LEASE_S)
    doomed = await start_bot(settings, slack, gated_llm)
    survivor: RunningBot | None = None
    try:
        ts, _ = await doomed.customer_says(f"The washing machine flooded my kitchen. {HOLD}")
        await gated_llm.wait_held()
        survivor = await start_bot(settings, slack, gated_llm)
        job = await survivor.store.get_job(job_id=1)
        assert job.lease_owner == doomed.bot.worker_id, "the doomed instance holds the job"
    finally:
        await stop_bot(doomed)
    try:
        gated_llm.release()
        finished = await survivor.card_for(ts, timeout=LEASE_S + 8)
        job = await wait_until(lambda: finished_job(survivor.store, job.id))
    finally:
        await stop_bot(survivor)

    assert job.attempts == 2 and job.lease_owner == survivor.bot.worker_id
    assert len(cards_posted(slack)) == 1
    assert cards_posted(slack)[0].response["ts"] == finished.card_ts

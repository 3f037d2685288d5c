"""A burst of complaints against a Slack that enforces its published rate limits.

The fake Slack answers 429 past Slack's limits; the bot's pacer keeps under
them, so every card arrives and almost no call is refused.  Both play Slack's
minute ten times faster (``speed=10``) so the story takes seconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from app.slack.pacing import SlackPacer
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_rate_limits import SlackRateLimits
from tests.fakes.support_workspace import workspace_seed
from tests.slack.conftest import REVIEW, RunningBot, bot_settings, start_bot, stop_bot, wait_until

SPEED = 10
BURST = 30


@pytest.fixture
async def limited_slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(rate_limits=SlackRateLimits(speed=SPEED)) as fake:
        fake.seed(workspace_seed())
        yield fake


@pytest.fixture
async def paced(
    limited_slack: FakeSlack, llm: FakeOpenAI, database_url: str
) -> AsyncIterator[RunningBot]:
    settings = bot_settings(limited_slack, llm, database_url, TACTFUL_MAX_CONCURRENT_DRAFTS="32")
    running = await start_bot(settings, limited_slack, llm, pacer=SlackPacer(speed=SPEED))
    try:
        yield running
    finally:
        await stop_bot(running)

def complete_cards(slack: FakeSlack) -> list[str]:
    """Review-channel cards that show "Approve & send" now."""
    return [
        m["ts"] for m in slack.messages[REVIEW]
        if any(
            e.get("action_id") == "approve_send"
            for b in m.get("blocks") or [] if b.get("type") == "actions"
            for e in b.get("elements") or []
        )
    ]


async def test_a_burst_of_complaints_gets_every_card_with_almost_no_429(
    paced: RunningBot, limited_slack: FakeSlack
) -> None:
    said = await asyncio.gather(
        *(paced.customer_says(f"Order #{4800 + n} never arrived, {n} days late!") for n in range(BURST))
    )
    assert {status for _, status in said} == {200}

    await wait_until(lambda: len(complete_cards(limited_slack)) >= BURST, timeout=60)

    stats = limited_slack.stats()
    assert stats["total_ratelimited"] < 0.05 * stats["total_calls"], stats
    assert len(complete_cards(limited_slack)) == BURST

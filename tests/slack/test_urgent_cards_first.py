"""When cards queue behind Slack's rate limit, the most urgent complaint's card goes first.

Slack lets the bot post about one message a second into the review channel.
A burst of drafts that finish together therefore waits at the pacer; the
card of a complaint the model rated high or critical must not wait behind
the routine ones that happened to arrive before it.  Slack's minute runs three
times faster here (``speed=3``) so the story takes seconds.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.slack.pacing import SlackPacer
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_rate_limits import SlackRateLimits
from tests.fakes.support_workspace import workspace_seed
from tests.slack.conftest import REVIEW, RunningBot, bot_settings, start_bot, stop_bot, wait_until

SPEED = 3
ROUTINE = 12
LATER_S = 0.5
URGENT_TEXT = "ESCALATE-ME: my lawyer hears about order #9999 today"


class AllAtOnceOpenAI(FakeOpenAI):
    """Answers nothing until every complaint of the burst has asked, then all together.

    The urgent complaint's answer comes a little later still, so without
    priority its card would certainly queue behind every routine one.
    """

    def __init__(self, burst: int) -> None:
        super().__init__()
        self.burst = burst

    async def hold(self, body: dict[str, Any]) -> None:
        await wait_until(lambda: len(self.requests) >= self.burst, timeout=30)
        if "#9999" in json.dumps(body):
            await asyncio.sleep(LATER_S)


@pytest.fixture
async def queued(database_url: str) -> AsyncIterator[RunningBot]:
    async with (
        AllAtOnceOpenAI(burst=ROUTINE + 1) as llm,
        FakeSlack(rate_limits=SlackRateLimits(speed=SPEED)) as slack,
    ):
        slack.seed(workspace_seed())
        settings = bot_settings(slack, llm, database_url, TACTFUL_MAX_CONCURRENT_DRAFTS="32")
        # Strict: the review channel's one post a second from the first card on.
        running = await start_bot(
            settings, slack, llm, pacer=SlackPacer(speed=SPEED, strict=True)
        )
        try:
            yield running
        finally:
            await stop_bot(running)

def review_cards(slack: FakeSlack) -> list[str]:
    """The review channel's cards in the order Slack received them, as JSON text."""
    return [json.dumps(m.get("blocks") or []) for m in slack.messages.get(REVIEW, [])]


async def test_the_urgent_card_overtakes_routine_cards_waiting_for_slack(
    queued: RunningBot,
) -> None:
    # Every draft comes back at the same moment, so the cards queue together.
    said = [
        queued.customer_says(f"Order #{5100 + n} arrived with a broken lid, day {n}.")
        for n in range(ROUTINE)
    ]
    statuses = await asyncio.gather(*said)
    # The urgent complaint arrives last, after all the routine ones.
    _, urgent_status = await queued.customer_says(URGENT_TEXT)
    assert {status for _, status in statuses} | {urgent_status} == {200}

    cards = await wait_until(
        lambda: (found := review_cards(queued.slack)) and len(found) >= ROUTINE + 1 and found,
        timeout=60,
    )

    urgent_at = next(n for n, card in enumerate(cards) if "#9999" in card)
    # Without priority it would be the last card.  With it, it goes as soon as the
    # review channel has room: after the posts of the half second it came later.
    assert urgent_at <= 5, f"the urgent card was posted as number {urgent_at + 1} of {len(cards)}"
    assert sum("#9999" in card for card in cards) == 1

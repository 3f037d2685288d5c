"""Two tactful instances on one PostgreSQL database sweep the same due commitments.

Each reminder is claimed by one conditional UPDATE, so however the sweeps
interleave, every agent gets each reminder once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.slack_api import FakeSlack
from tests.slack.conftest import AGENT, RunningBot, bot_settings, start_bot, stop_bot
from tests.slack.test_multi_instance_postgres import start_pair
from tests.slack.test_reminders import SETTINGS, a_sent_promise, promising, reminders_to


@pytest.fixture
async def pair(
    slack: FakeSlack, llm: FakeOpenAI, fresh_postgres_url: str
) -> AsyncIterator[list[RunningBot]]:
    llm.responder = promising
    bots = await start_pair(bot_settings(slack, llm, fresh_postgres_url, **SETTINGS), slack, llm)
    try:
        yield bots
    finally:
        await asyncio.gather(*(stop_bot(b) for b in bots))


async def test_two_instances_sweeping_at_once_remind_each_promise_once(
    pair: list[RunningBot],
) -> None:
    one, other = pair
    sent = [await a_sent_promise(bot) for bot in (one, other, one)]
    assert one.bot.desk is not None and other.bot.desk is not None

    counts = await asyncio.gather(*(
        bot.bot.desk.reminders() for _ in range(5) for bot in (one, other)  # type: ignore[union-attr]
    ))

    assert sum(counts) == 3
    assert len(reminders_to(one.slack, AGENT)) == 3
    for _, draft in sent:
        [commitment] = await other.store.commitments_of(draft_id=draft.id)
        assert commitment.outcome == "reminded"


async def test_a_third_instance_started_later_sends_nothing_again(
    pair: list[RunningBot], slack: FakeSlack, llm: FakeOpenAI, fresh_postgres_url: str,
) -> None:
    one, _ = pair
    await a_sent_promise(one)
    assert one.bot.desk is not None and await one.bot.desk.reminders() == 1

    late = await start_bot(bot_settings(slack, llm, fresh_postgres_url, **SETTINGS), slack, llm)
    try:
        assert late.bot.desk is not None and await late.bot.desk.reminders() == 0
    finally:
        await stop_bot(late)
    assert len(reminders_to(slack, AGENT)) == 1

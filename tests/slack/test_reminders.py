"""Stories of commitments through the real bot: a sent reply promises "within 2 hours".

The bot stores the promise owned by the approving agent; the upkeep sweep
(``desk.reminders``, what the upkeep loop runs every minute) sends the agent
one DM with a link and "Draft the follow-up", never a second one after a
restart, none at all when an agent has written in the thread since; the
button drafts the follow-up for that agent alone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.slack.reminder_blocks import DRAFT_FOLLOW_UP
from tests.fakes.openai_api import FakeOpenAI, default_reply
from tests.fakes.signing import block_actions_body
from tests.fakes.slack_api import FakeSlack, SlackCall
from tests.slack.conftest import (
    AGENT,
    SUPPORT,
    RunningBot,
    approve_click,
    bot_settings,
    ephemerals_to,
    next_ts,
    start_bot,
    stop_bot,
    wait_until,
)

PROMISE = "send you the details within 2 hours."
# Reminded three hours before it is due: a two-hour promise is due for its reminder at once.
SETTINGS = {"TACTFUL_REMIND_BEFORE_MINUTES": "180", "TACTFUL_TIMEZONE": "Europe/Paris"}


def promising(request: dict[str, Any]) -> dict[str, Any] | str:
    """The fake model's usual draft, with a time in its promise of a next step."""
    answer = default_reply(request)
    if isinstance(answer, dict) and answer.get("reply"):
        answer["reply"] = answer["reply"].replace("send you the details.", PROMISE)
        for step in answer.get("steps", []):
            step["quote"] = step["quote"].replace("send you the details.", PROMISE)
    return answer


@pytest.fixture
def promising_llm(llm: FakeOpenAI) -> FakeOpenAI:
    llm.responder = promising
    return llm


@pytest.fixture
async def bot(slack: FakeSlack, promising_llm: FakeOpenAI, database_url: str) -> AsyncIterator[RunningBot]:
    running = await start_bot(bot_settings(slack, promising_llm, database_url, **SETTINGS),
                              slack, promising_llm)
    try:
        yield running
    finally:
        await stop_bot(running)


def reminders_to(slack: FakeSlack, user: str) -> list[SlackCall]:
    dm = "D" + user.lstrip("UW")
    return [
        c for c in slack.calls_to("chat.postMessage")
        if c.ok and c.args.get("channel") == dm
        and DRAFT_FOLLOW_UP in str(c.args.get("blocks"))
    ]


async def a_sent_promise(running: RunningBot) -> tuple[str, Any]:
    """A customer complains, the agent approves the reply; returns (message ts, sent draft)."""
    ts = next_ts()
    # Its own event id: two instances' counters would otherwise name two events alike.
    await running.customer_says("My parcel never came and tracking is stuck for a week.",
                                ts=ts, event_id=f"Ev{ts}")
    draft = await running.card_for(ts)
    assert PROMISE in draft.text
    await running.post(approve_click(draft))
    sent = await running.card_for(ts, status="sent")
    await wait_until(lambda: running.store.commitments_of(draft_id=sent.id))
    return ts, sent


async def test_a_sent_promise_is_reminded_once_even_after_a_restart(
    slack: FakeSlack, promising_llm: FakeOpenAI, database_url: str
) -> None:
    settings = bot_settings(slack, promising_llm, database_url, **SETTINGS)
    first = await start_bot(settings, slack, promising_llm)
    try:
        ts, sent = await a_sent_promise(first)
        [commitment] = await first.store.commitments_of(draft_id=sent.id)
        assert commitment.owner_id == AGENT and commitment.phrase == "within 2 hours"
        assert commitment.time_zone == "Europe/Paris"
        assert (commitment.due_at - sent.decided_at).total_seconds() == pytest.approx(7200, abs=1)
        assert first.bot.desk is not None
        assert await first.bot.desk.reminders() == 1
        assert await first.bot.desk.reminders() == 0
    finally:
        await stop_bot(first)

    second = await start_bot(settings, slack, promising_llm)
    try:
        assert second.bot.desk is not None
        assert await second.bot.desk.reminders() == 0
    finally:
        await stop_bot(second)

    [reminder] = reminders_to(slack, AGENT)
    text = str(reminder.args["text"])
    assert "within 2 hours" in text and "(Europe/Paris)" in text
    link = f"/archives/{SUPPORT}/p{sent.sent_ts.replace('.', '')}"
    assert link in str(reminder.args["blocks"])
    assert f"thread_ts={ts}" in str(reminder.args["blocks"])


async def test_no_reminder_when_an_agent_has_written_in_the_thread_since(bot: RunningBot) -> None:
    ts, sent = await a_sent_promise(bot)
    later = f"{float(sent.sent_ts) + 5:.6f}"
    bot.slack.add_message(SUPPORT, later, "Quick update: the carrier found it.", user=AGENT,
                          thread_ts=ts)
    assert bot.bot.desk is not None

    assert await bot.bot.desk.reminders() == 0

    [commitment] = await bot.store.commitments_of(draft_id=sent.id)
    assert commitment.outcome == "cancelled"
    assert reminders_to(bot.slack, AGENT) == []
    assert await bot.bot.desk.reminders() == 0


async def test_draft_the_follow_up_reaches_only_the_agent_who_clicked(bot: RunningBot) -> None:
    ts, sent = await a_sent_promise(bot)
    assert bot.bot.desk is not None
    assert await bot.bot.desk.reminders() == 1
    [reminder] = reminders_to(bot.slack, AGENT)
    [commitment] = await bot.store.commitments_of(draft_id=sent.id)
    dm = str(reminder.args["channel"])

    def click() -> Any:
        return block_actions_body(
            action_id=DRAFT_FOLLOW_UP, value=str(commitment.id), user_id=AGENT,
            channel_id=dm, message_ts=str(reminder.response["ts"]),
        )

    status, _ = await bot.post(click())
    assert status == 200
    await wait_until(lambda: any("Drafting the follow-up" in t for t in ephemerals_to(bot.slack, AGENT)))

    async def follow_up_card() -> Any:
        found = await bot.store.find_complaint(
            channel_id=SUPPORT, message_ts=sent.sent_ts, source="follow_up")
        draft = found and await bot.store.latest_draft(complaint_id=found.id)
        return (found, draft) if draft is not None and draft.card_ts else None

    complaint, draft = await wait_until(follow_up_card)
    assert complaint.requested_by == AGENT and complaint.thread_ts == ts
    assert draft.card_channel == dm  # the agent's DM, not the review channel
    assert "promised" in (complaint.guidance or "") and "within 2 hours" in (complaint.guidance or "")
    # The customer saw nothing new: one reply in their thread, the first one.
    customer_posts = [c for c in bot.slack.calls_to("chat.postMessage")
                      if c.ok and c.args.get("channel") == SUPPORT]
    assert len(customer_posts) == 1

    await bot.post(click())
    await wait_until(lambda: any("already asked" in t for t in ephemerals_to(bot.slack, AGENT)))

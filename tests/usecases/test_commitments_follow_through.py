"""Commitments and reminders as use cases: a real store, Slack as a call log.

Covers what the bot stories do not: the agent posting the reply themselves,
the follow-up-hours fallback, and each way a reminder can fail.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from app.domain.models import ThreadMessage
from app.store import Store
from app.usecases.approve import ApproveAndSend
from app.usecases.cards import CardDesk
from app.usecases.commitments import FollowThrough, Reminders, TimeZones
from app.usecases.settle_sends import SettleSends
from tests.store.conftest import StoreFactory
from tests.usecases.conftest import FakeSlackPort

PROMISING = "I'm so sorry about the parcel. I will update you within 2 hours."


def follow(store: Store, *, hours: float = 0) -> FollowThrough:
    return FollowThrough(store, zones=TimeZones("UTC", {"C_SUPPORT": "Europe/Madrid"}),
                         remind_before=timedelta(hours=3), follow_up_hours=hours)


async def sent_draft(store: Store, slack: FakeSlackPort, cards: CardDesk, factory: StoreFactory,
                     *, text: str = PROMISING, send_as: str = "bot", hours: float = 0) -> int:
    draft_id = await factory.pending_draft(store, result=factory.result(text=text))
    approve = ApproveAndSend(store, slack, cards, send_as=send_as,  # type: ignore[arg-type]
                             follow_through=follow(store, hours=hours))
    assert (await approve(draft_id=draft_id, user_id="U_AGENT", seen=None)).sent
    return draft_id


def now_ts(offset: float = 0) -> str:
    return f"{time.time() + offset:.6f}"


async def test_a_reply_the_agent_posts_themselves_is_theirs_to_follow_up(
    store: Store, slack: FakeSlackPort, cards: CardDesk, factory: StoreFactory
) -> None:
    draft_id = await sent_draft(store, slack, cards, factory, send_as="agent")

    [commitment] = await store.commitments_of(draft_id=draft_id)
    assert commitment.owner_id == "U_AGENT" and commitment.reply_ts == ""
    assert commitment.time_zone == "Europe/Madrid"
    # Their own post of the approved text is the reply, not a follow-up: still reminded.
    slack.thread = [ThreadMessage(author="agent", text=PROMISING, ts=now_ts(1), user_id="U_AGENT")]
    assert await Reminders(store, slack)() == 1
    [reminder] = slack.called("remind_commitment")
    assert reminder["user_id"] == "U_AGENT" and reminder["commitment_id"] == commitment.id


async def test_another_agent_message_after_a_self_posted_reply_cancels_the_reminder(
    store: Store, slack: FakeSlackPort, cards: CardDesk, factory: StoreFactory
) -> None:
    draft_id = await sent_draft(store, slack, cards, factory, send_as="agent")
    slack.thread = [
        ThreadMessage(author="agent", text=PROMISING, ts=now_ts(1), user_id="U_AGENT"),
        ThreadMessage(author="agent", text="Good news: it is in the van.", ts=now_ts(2)),
    ]

    assert await Reminders(store, slack)() == 0

    [commitment] = await store.commitments_of(draft_id=draft_id)
    assert commitment.outcome == "cancelled"
    assert slack.called("remind_commitment") == []


async def test_a_follow_up_without_a_time_falls_back_to_follow_up_hours(
    store: Store, slack: FakeSlackPort, cards: CardDesk, factory: StoreFactory
) -> None:
    draft_id = await sent_draft(store, slack, cards, factory, text="So sorry about this.", hours=24)

    [commitment] = await store.commitments_of(draft_id=draft_id)
    draft = await store.get_draft(draft_id=draft_id)
    assert draft is not None and draft.decided_at is not None
    assert commitment.phrase == draft.follow_up
    assert commitment.due_at - draft.decided_at == timedelta(hours=24)
    assert commitment.remind_at - draft.decided_at == timedelta(hours=21)
    assert await Reminders(store, slack)() == 0  # not due for 21 hours


async def test_no_time_and_no_fallback_means_no_commitment(
    store: Store, slack: FakeSlackPort, cards: CardDesk, factory: StoreFactory
) -> None:
    draft_id = await sent_draft(store, slack, cards, factory, text="So sorry about this.")
    assert await store.commitments_of(draft_id=draft_id) == []


async def test_recording_twice_adds_nothing(
    store: Store, slack: FakeSlackPort, cards: CardDesk, factory: StoreFactory
) -> None:
    draft_id = await sent_draft(store, slack, cards, factory)
    await follow(store)(draft_id=draft_id)  # the settle sweep seeing the same send
    assert len(await store.commitments_of(draft_id=draft_id)) == 1


@pytest.mark.parametrize(("error", "retried"), [("ratelimited", True), ("timeout", False)])
async def test_a_refused_reminder_is_retried_an_unknown_one_never(
    store: Store, slack: FakeSlackPort, cards: CardDesk, factory: StoreFactory,
    error: str, retried: bool,
) -> None:
    draft_id = await sent_draft(store, slack, cards, factory)
    slack.fail["remind_commitment"] = [error]
    reminders = Reminders(store, slack)

    assert await reminders() == 0
    assert await reminders() == (1 if retried else 0)

    [commitment] = await store.commitments_of(draft_id=draft_id)
    assert commitment.outcome == ("reminded" if retried else "unconfirmed")
    assert len(slack.called("remind_commitment")) == (2 if retried else 1)


async def test_an_unreadable_thread_decides_nothing_until_it_can_be_read(
    store: Store, slack: FakeSlackPort, cards: CardDesk, factory: StoreFactory
) -> None:
    draft_id = await sent_draft(store, slack, cards, factory)
    slack.fail["read_thread"] = ["ratelimited"]
    reminders = Reminders(store, slack)

    assert await reminders() == 0
    [waiting] = await store.commitments_of(draft_id=draft_id)
    assert waiting.reminded_at is None and waiting.outcome is None
    assert await reminders() == 1


async def test_a_send_the_sweep_finds_posted_records_its_promise_for_the_approver(
    store: Store, slack: FakeSlackPort, cards: CardDesk, factory: StoreFactory
) -> None:
    draft_id = await factory.pending_draft(store, result=factory.result(text=PROMISING))
    slack.post_then_fail = True  # Slack posted, then the answer was lost
    approve = ApproveAndSend(store, slack, cards, send_as="bot", follow_through=follow(store))
    assert not (await approve(draft_id=draft_id, user_id="U_AGENT", seen=None)).sent
    assert await store.commitments_of(draft_id=draft_id) == []

    assert await SettleSends(store, slack, cards, follow(store))(older_than_s=0) == 1

    [commitment] = await store.commitments_of(draft_id=draft_id)
    assert commitment.owner_id == "U_AGENT" and commitment.phrase == "within 2 hours"
    sent = await store.get_draft(draft_id=draft_id)
    assert sent is not None and commitment.reply_ts == sent.sent_ts

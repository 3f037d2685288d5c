"""Intake decides, before the ack, which messages become complaints."""

from __future__ import annotations

import time

from app.domain.draft_life import DraftState
from app.store import Store
from app.usecases.intake import AGENT_LOOKUP_S, Intake, Message
from tests.store.conftest import StoreFactory
from tests.usecases.conftest import FakeSlackPort

SUPPORT = "C_SUPPORT"


def intake(store: Store, slack: FakeSlackPort) -> Intake:
    return Intake(
        store, slack, watched_channels=[SUPPORT], home_team_id="T_HOME", max_message_chars=500
    )


def said(text: str, *, user: str = "U_CUSTOMER", ts: str = "1712000000.000100",
         thread_ts: str | None = None, channel: str = SUPPORT, team: str | None = "T_HOME") -> Message:
    return Message(team_id="T_HOME", channel=channel, ts=ts, thread_ts=thread_ts, user=user,
                   user_team=team, text=text)


async def test_a_customer_complaint_is_stored_redacted_with_a_job(store: Store, slack: FakeSlackPort) -> None:
    result = await intake(store, slack).watched_message(
        said("I was charged twice, write me at dana@example.com")
    )

    assert result.outcome == "accepted"
    complaint = await store.find_complaint(channel_id=SUPPORT, message_ts="1712000000.000100", source="watch")
    assert complaint is not None and "dana@example.com" not in complaint.text
    assert await store.pending_job_count() == 1
    # The link a card shows is stored at once when building it needs no Slack call.
    assert complaint.permalink == "https://example.slack.com/archives/C_SUPPORT/p1712000000000100"


async def test_agents_and_unwatched_channels_and_blank_messages_are_left_alone(
    store: Store, slack: FakeSlackPort
) -> None:
    desk = intake(store, slack)

    assert (await desk.watched_message(said("On it", user="U_AGENT"))).outcome == "ignored_agent"
    assert (await desk.watched_message(said("Hi", channel="C_RANDOM"))).outcome == "ignored_channel"
    assert (await desk.watched_message(said("   "))).outcome == "ignored_empty"
    assert await store.pending_job_count() == 0


async def test_a_slow_agent_lookup_cannot_hold_the_ack(store: Store, slack: FakeSlackPort) -> None:
    slack.agent_lookup_s = 10
    started = time.perf_counter()

    result = await intake(store, slack).watched_message(said("Where is my refund?", user="U_AGENT"))

    assert time.perf_counter() - started < AGENT_LOOKUP_S + 0.5
    assert result.outcome == "accepted", "better an extra card than a complaint nobody sees"


async def test_a_follow_up_in_the_thread_supersedes_the_older_draft(
    store: Store, slack: FakeSlackPort, factory: StoreFactory
) -> None:
    older = await factory.pending_draft(store, "1712000000.000100", thread_ts="1712000000.000100")

    result = await intake(store, slack).watched_message(
        said("Still waiting!", ts="1712000000.000900", thread_ts="1712000000.000100")
    )

    assert result.outcome == "accepted" and result.superseded == [older]
    stale = await store.get_draft(draft_id=older)
    assert stale is not None and stale.status == DraftState.SUPERSEDED


async def test_one_message_asked_about_twice_is_drafted_once(store: Store, slack: FakeSlackPort) -> None:
    desk = intake(store, slack)
    message = said("My order never came")

    assert await desk.requested(message, source="shortcut", asker="U_AGENT")
    assert not await desk.requested(message, source="shortcut", asker="U_AGENT")
    assert await store.pending_job_count() == 1


async def test_a_huge_message_is_cut_before_it_is_read_and_says_so(
    store: Store, slack: FakeSlackPort
) -> None:
    from app.domain.limits import unread_chars

    huge = "My order is late and nobody answers. " * 400 + "Call me at dana@example.com"

    assert (await intake(store, slack).watched_message(said(huge))).outcome == "accepted"

    complaint = await store.find_complaint(
        channel_id=SUPPORT, message_ts="1712000000.000100", source="watch"
    )
    assert complaint is not None and len(complaint.text) < 700
    assert unread_chars(complaint.text) > 14_000

"""Stories of "once": one card per customer message, one reply per approval, one live card per thread.

Slack redelivers events and sends one message under two event ids; agents
double-click; customers write again while a draft is being written.  Each
story counts what the fake Slack received and reads the store.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tests.fakes.openai_api import FIRST_DRAFT, schema_name
from tests.fakes.signing import event_callback_body, message_event
from tests.fakes.slack_api import FakeSlack
from tests.slack.conftest import (
    AGENT,
    CUSTOMER,
    CUSTOMER_TEAM,
    GROUP_AGENT,
    HOLD,
    REVIEW,
    SUPPORT,
    GatedOpenAI,
    RunningBot,
    all_jobs_done,
    approve_click,
    card_updates,
    cards_posted,
    ephemerals_to,
    next_ts,
    replies_to_customers,
    wait_until,
)

ALREADY_HANDLED = {"Another agent is sending this reply right now.", "This reply was already sent."}
SUPERSEDED_NOTE = "The customer wrote again since this draft"


def llm_calls(running: RunningBot, kind: str) -> int:
    return sum(1 for request in running.llm.requests if schema_name(request) == kind)


def sendable_cards(slack: FakeSlack) -> list[dict[str, Any]]:
    """Review-channel messages, as they look now, that still carry an Approve button."""
    return [
        message for message in slack.messages[REVIEW]
        if any(
            element.get("action_id") == "approve_send"
            for block in message.get("blocks") or [] if block.get("type") == "actions"
            for element in block.get("elements", [])
        )
    ]


def card_text(slack: FakeSlack, card_ts: str) -> str:
    """Everything the card at ``card_ts`` shows now, as one string."""
    message = next(m for m in slack.messages[REVIEW] if m["ts"] == card_ts)
    return str(message.get("blocks"))


async def test_an_event_slack_delivers_three_times_is_drafted_once(running: RunningBot) -> None:
    text = "I was charged twice for order #5512 and the bank says it's your problem."
    ts = next_ts()
    running.slack.add_message(SUPPORT, ts, text, user=CUSTOMER)
    event = message_event(SUPPORT, text, user=CUSTOMER, ts=ts, user_team=CUSTOMER_TEAM)

    first = await running.post(event_callback_body(event, event_id="Ev0DUPLICATE"))
    # Slack retries when our ack looks late; the retries may overlap each other.
    retries = await asyncio.gather(
        running.post(event_callback_body(event, event_id="Ev0DUPLICATE", retry_num=1)),
        running.post(event_callback_body(event, event_id="Ev0DUPLICATE", retry_num=2)),
    )
    assert [status for status, _ in (first, *retries)] == [200, 200, 200], "every delivery is acked"

    await running.card_for(ts)
    await wait_until(lambda: all_jobs_done(running))
    assert (await running.store.stats()).complaints == 1
    assert len(running.llm.requests) == llm_calls(running, FIRST_DRAFT) == 1, "one model call"
    assert len(cards_posted(running.slack)) == 1
    # The event id itself is remembered in the store, so a later retry is dropped at the door.
    assert not await running.store.first_delivery(event_id="Ev0DUPLICATE")


async def test_one_message_under_two_event_ids_gets_one_card(running: RunningBot) -> None:
    # A thread reply sent "also to the channel" reaches the bot as a message
    # and as a thread_broadcast: the same ts under two event ids.
    root = next_ts()
    running.slack.add_message(SUPPORT, root, "Hi, how can we help?", user=AGENT)
    ts = next_ts()
    text = "The replacement you promised never shipped. Third time I ask."
    running.slack.add_message(SUPPORT, ts, text, user=CUSTOMER, thread_ts=root)
    reply = message_event(SUPPORT, text, user=CUSTOMER, ts=ts, thread_ts=root, user_team=CUSTOMER_TEAM)
    broadcast = {**reply, "subtype": "thread_broadcast"}

    statuses = await asyncio.gather(
        running.post(event_callback_body(reply, event_id="Ev0AS_REPLY")),
        running.post(event_callback_body(broadcast, event_id="Ev0AS_BROADCAST")),
    )
    assert [status for status, _ in statuses] == [200, 200]

    draft = await running.card_for(ts)
    await wait_until(lambda: all_jobs_done(running))
    assert (await running.store.stats()).complaints == 1
    assert len(running.llm.requests) == llm_calls(running, FIRST_DRAFT) == 1
    assert [c.response["ts"] for c in cards_posted(running.slack)] == [draft.card_ts]


async def test_ten_concurrent_approve_clicks_send_one_reply(running: RunningBot) -> None:
    ts, _ = await running.customer_says("My table was cancelled an hour before the party. Unbelievable.")
    draft = await running.card_for(ts)

    clickers = [AGENT] * 5 + [GROUP_AGENT] * 5
    statuses = await asyncio.gather(*(running.post(approve_click(draft, user=u)) for u in clickers))
    assert [status for status, _ in statuses] == [200] * 10

    def notes() -> list[str]:
        return ephemerals_to(running.slack, AGENT) + ephemerals_to(running.slack, GROUP_AGENT)

    await running.card_for(ts, status="sent")
    await wait_until(lambda: len(notes()) >= 9)
    assert len(notes()) == 9, "every click but the winning one is told why nothing happened"
    assert set(notes()) <= ALREADY_HANDLED
    replies = replies_to_customers(running.slack)
    assert len(replies) == 1
    assert replies[0].args["thread_ts"] == ts
    approvals = [d for d in await running.store.decisions(draft_id=draft.id) if d.action == "approve"]
    assert len(approvals) == 1
    # The card now says who sent it, and offers no button to send it again.
    await wait_until(lambda: "*Sent* by" in card_text(running.slack, draft.card_ts or ""))
    assert sendable_cards(running.slack) == []


async def test_a_follow_up_in_the_thread_retires_the_older_card(running: RunningBot) -> None:
    first_ts, _ = await running.customer_says("My order #7781 arrived with a broken lamp.")
    old = await running.card_for(first_ts)

    second_ts, _ = await running.customer_says(
        "And now the courier says I have to pay for the return?!", thread_ts=first_ts
    )
    new = await running.card_for(second_ts)
    assert new.card_ts != old.card_ts, "the follow-up gets a card of its own"
    await running.card_for(first_ts, status="superseded")
    await wait_until(lambda: card_updates(running.slack, old.card_ts or ""))
    assert "Superseded" in card_text(running.slack, old.card_ts or "")

    # An agent who still has the old card open clicks its Approve.
    status, _ = await running.post(approve_click(old))
    assert status == 200
    note = await wait_until(lambda: ephemerals_to(running.slack, AGENT))
    assert SUPERSEDED_NOTE in note[0]
    assert replies_to_customers(running.slack) == []
    assert (await running.store.get_draft(draft_id=old.id)).status == "superseded"

    await running.post(approve_click(new))
    await running.card_for(second_ts, status="sent")
    replies = replies_to_customers(running.slack)
    assert len(replies) == 1
    assert replies[0].args["text"] == new.text
    assert replies[0].args["thread_ts"] == first_ts, "the reply lands in the customer's thread"


async def test_a_follow_up_while_the_first_draft_is_being_written_wins(
    running_gated: RunningBot, gated_llm: GatedOpenAI
) -> None:
    running = running_gated
    first_ts, _ = await running.customer_says(f"My parcel is two weeks late. {HOLD}")
    await gated_llm.wait_held()  # the model is still writing the first draft: no card yet
    assert cards_posted(running.slack) == []

    second_ts, _ = await running.customer_says(
        "Actually it just arrived, but the box is soaked and the book inside is ruined.",
        thread_ts=first_ts,
    )
    latest = await running.card_for(second_ts)

    gated_llm.release()  # the first draft comes back after all
    await wait_until(lambda: all_jobs_done(running))
    first = await running.card_for(first_ts, status="superseded")
    assert first.text == "" and first.card_ts is None, "the stale draft was never stored or shown"
    assert [m["ts"] for m in sendable_cards(running.slack)] == [latest.card_ts]
    assert len(cards_posted(running.slack)) == 1
    assert replies_to_customers(running.slack) == []


async def test_one_customer_message_watched_then_asked_about_twice_gets_one_reply(
    running: RunningBot,
) -> None:
    """Watch, shortcut and @mention on the same message: one card to act on, one reply."""
    from tests.fakes.signing import message_shortcut_body

    text = "Third time asking: my refund for order 7731 never arrived."
    ts, _ = await running.customer_says(text)
    watched = await running.card_for(ts)

    await running.post(
        message_shortcut_body(
            callback_id="draft_reply", user_id=AGENT, channel_id=SUPPORT,
            message={"ts": ts, "text": text, "user": CUSTOMER},
            response_url=running.slack.response_url("again"),
        )
    )
    mention_ts = next_ts()
    asking = "<@UBOT> be extra kind"
    running.slack.add_message(SUPPORT, mention_ts, asking, user=AGENT, thread_ts=ts)
    await running.post(event_callback_body(
        message_event(SUPPORT, asking, user=AGENT, ts=mention_ts, thread_ts=ts, mention=True),
        event_id="EvONCE1",
    ))
    told = await running.slack.wait_for("response_url", where=lambda c: c.args.get("hook") == "again")
    assert "already exists" in told[0].args["text"]
    await running.slack.wait_for(
        "chat.postEphemeral",
        where=lambda c: c.args.get("user") == AGENT and "already exists" in str(c.args["text"]),
    )
    for source in ("shortcut", "mention"):
        assert await running.store.find_complaint(
            channel_id=SUPPORT, message_ts=ts, source=source
        ) is None

    await asyncio.gather(*(running.post(approve_click(watched)) for _ in range(3)))
    await running.card_for(ts, status="sent")
    assert len(replies_to_customers(running.slack)) == 1

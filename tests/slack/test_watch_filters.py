"""Stories of what the bot watches: only new messages from customers in support channels get a card.

A busy support channel carries bot posts, edits, deletions, joins, agents'
own messages and thanks; none of them may cost an LLM call or put a card in
front of an agent, and /metrics counts what was skipped.
"""

from __future__ import annotations

import itertools
from typing import Any

from tests.fakes.openai_api import FIRST_DRAFT, schema_name
from tests.fakes.signing import BOT_USER_ID, TEAM_ID, event_callback_body, message_event
from tests.slack.conftest import (
    AGENT,
    CUSTOMER,
    CUSTOMER_TEAM,
    GROUP_AGENT,
    REVIEW,
    SUPPORT,
    RunningBot,
    cards_posted,
    next_ts,
    wait_until,
)
from tests.slack.flows import card_ready, metric, user_texts

MESSAGES = "tactful_messages_total"
_event_ids = itertools.count(1)


async def deliver(running: RunningBot, event: dict[str, Any]) -> int:
    """Slack delivers one event_callback; returns the HTTP status of the bot's answer."""
    status, _ = await running.post(
        event_callback_body(event, event_id=f"EvWF{next(_event_ids):06d}")
    )
    return status


def customer_message(text: str, **changes: Any) -> dict[str, Any]:
    event = message_event(SUPPORT, text, user=CUSTOMER, ts=next_ts(), user_team=CUSTOMER_TEAM)
    event.update(changes)
    return event


def edited(original: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "message",
        "subtype": "message_changed",
        "hidden": True,
        "channel": SUPPORT,
        "ts": next_ts(),
        "event_ts": next_ts(),
        "channel_type": "channel",
        "message": {
            **original,
            "text": original["text"] + " (edited)",
            "edited": {"user": CUSTOMER, "ts": next_ts()},
        },
        "previous_message": original,
    }


def deleted(original: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "message",
        "subtype": "message_deleted",
        "hidden": True,
        "channel": SUPPORT,
        "ts": next_ts(),
        "event_ts": next_ts(),
        "deleted_ts": original["ts"],
        "channel_type": "channel",
        "previous_message": original,
    }


async def outcomes(running: RunningBot, *names: str) -> dict[str, float]:
    return {name: await metric(running, MESSAGES, outcome=name) for name in names}


async def test_a_busy_channel_costs_no_llm_call_and_no_card_except_for_the_real_complaint(
    running: RunningBot,
) -> None:
    watched = ("accepted", "ignored_agent", "ignored_channel", "ignored_empty")
    before = await outcomes(running, *watched)
    old_complaint = customer_message("My parcel is late")  # seen long ago; only its edits come now
    noise = [
        customer_message("Ticket 12 updated", user="UOTHERBOT", bot_id="B0OTHER"),
        customer_message("Ticket 12 closed", subtype="bot_message", bot_id="B0OTHER"),
        customer_message("A reply of ours", user=BOT_USER_ID, bot_id="B0BOT", user_team=TEAM_ID),
        edited(old_complaint),
        deleted(old_complaint),
        customer_message(f"<@{CUSTOMER}> has joined the channel", subtype="channel_join"),
        customer_message("set the channel topic", subtype="channel_topic"),
        customer_message("", subtype="message_replied", hidden=True),
        customer_message("   "),
        customer_message("I'll look into it right away", user=AGENT, user_team=TEAM_ID),
        customer_message("Checking with the warehouse", user=GROUP_AGENT, user_team=TEAM_ID),
        customer_message("My order is late", channel="C0RANDOM"),
    ]
    for event in noise:
        assert await deliver(running, event) == 200

    for event in noise:
        stored = await running.store.find_complaint(
            channel_id=event.get("channel", SUPPORT), message_ts=event["ts"], source="watch"
        )
        assert stored is None, (
            f"{event.get('subtype') or event.get('text')!r} was taken as a complaint"
        )

    ts, _ = await running.customer_says("My order #4821 never arrived and nobody answers me.")
    draft = await card_ready(running, ts)

    assert len(cards_posted(running.slack)) == 1 and draft.card_channel == REVIEW
    assert [schema_name(r) for r in running.llm.requests] == [FIRST_DRAFT], (
        "one call (triage and draft) for the one real complaint, nothing else"
    )
    assert all("My order #4821" in str(r["messages"]) for r in running.llm.requests)
    after = await outcomes(running, *watched)
    assert after["accepted"] - before["accepted"] == 1
    assert after["ignored_agent"] - before["ignored_agent"] == 2
    assert after["ignored_channel"] - before["ignored_channel"] == 1
    assert after["ignored_empty"] - before["ignored_empty"] == 1


async def test_praise_and_questions_are_triaged_counted_and_not_drafted(
    running: RunningBot,
) -> None:
    before = await outcomes(running, "not_drafted_praise", "not_drafted_question")

    praise_ts, _ = await running.customer_says("PRAISE-ONLY Ana sorted it in minutes, thank you!")
    question_ts, _ = await running.customer_says("QUESTION-ONLY Do you ship to Norway?")

    async def both_counted() -> bool:
        now = await outcomes(running, "not_drafted_praise", "not_drafted_question")
        return all(now[k] - before[k] == 1 for k in now)

    await wait_until(both_counted)
    kinds = [schema_name(r) for r in running.llm.requests]
    assert kinds == [FIRST_DRAFT, FIRST_DRAFT], "one call each, answered without a reply"
    assert cards_posted(running.slack) == []
    for ts in (praise_ts, question_ts):
        complaint = await running.store.find_complaint(
            channel_id=SUPPORT, message_ts=ts, source="watch"
        )
        assert complaint is not None, "the message was seen and kept"
        assert await running.store.latest_draft(complaint_id=complaint.id) is None


async def test_a_customer_thread_reply_is_drafted_with_the_thread_history(
    running: RunningBot,
) -> None:
    root, agent_reply = next_ts(), next_ts()
    running.slack.add_message(
        SUPPORT, root, "The blender I bought leaks from the base.", user=CUSTOMER
    )
    running.slack.add_message(
        SUPPORT, agent_reply, "Sorry to hear that! Which model is it?", user=AGENT, thread_ts=root
    )

    ts, _ = await running.customer_says(
        "It's the BX-200, and now it has stopped turning on at all.", thread_ts=root
    )
    draft = await card_ready(running, ts)

    asked = [r for r in running.llm.requests if schema_name(r) == FIRST_DRAFT][-1]
    user_side = "\n".join(user_texts(asked))
    history = user_side.split("<thread_history>", 1)[1].split("</thread_history>", 1)[0]
    assert '<message author="customer"' in history and "leaks from the base" in history
    assert '<message author="agent"' in history and "Which model is it?" in history
    assert "BX-200" in user_side.split("<customer_message>", 1)[1]
    assert len(cards_posted(running.slack)) == 1 and draft.status == "pending"

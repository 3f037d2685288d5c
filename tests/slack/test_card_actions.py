"""Stories of an agent working a suggestion card: read it, edit, regenerate, pick offers, discard.

Each story drives the running bot over HTTP exactly as Slack would (signed
clicks and modal submissions) and checks what the fake Slack received and
what the store kept.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.slack.modals import DISCARD_VIEW, EDIT_VIEW, GUIDANCE_VIEW
from app.store import Draft
from tests.fakes.openai_api import DRAFT, FakeOpenAI, schema_name
from tests.fakes.signing import block_actions_body, plain_text_values
from tests.fakes.slack_api import FakeSlack
from tests.slack.conftest import (
    AGENT,
    COLLEAGUE,
    CUSTOMER,
    REVIEW,
    SUPPORT,
    RunningBot,
    bot_settings,
    replies_to_customers,
    start_bot,
    stop_bot,
    wait_until,
)
from tests.slack.flows import (
    action_ids,
    blocks_of_type,
    card_calls,
    card_message,
    card_ready,
    card_text,
    click,
    draft_now,
    non_user_texts,
    offer_fields,
    opened_view,
    pick_offers,
    selected,
    submit,
    user_texts,
    wait_for_card,
    wait_for_draft,
)

LATE_ORDER = (
    "My order #4821 was due Friday for my son's birthday and it is still not here. "
    "ESCALATE-ME I will talk to my lawyer if nobody answers today."
)
WARMER_OPENING = "I'm so sorry you've been left waiting like this"


async def a_card(running: RunningBot, text: str = LATE_ORDER) -> tuple[str, Draft]:
    """A customer complains and the card with its draft is up in the review channel."""
    ts, status = await running.customer_says(text)
    assert status == 200
    return ts, await card_ready(running, ts)


def drafts_requested(llm: FakeOpenAI) -> list[dict[str, Any]]:
    return [r for r in llm.requests if schema_name(r) == DRAFT]


async def test_card_shows_everything_an_agent_needs_within_block_kit_limits(
    running: RunningBot,
) -> None:
    _, draft = await a_card(running)

    posts = [c for c in card_calls(running.slack) if c.method == "chat.postMessage"]
    assert len(posts) == 1 and posts[0].ok, "one card, accepted by Slack"
    assert all(c.ok for c in card_calls(running.slack)), "every card post and update was accepted"
    assert not [
        c for c in running.slack.calls_to("chat.postMessage") if c.args["channel"] == SUPPORT
    ]

    card = card_message(running.slack, draft)
    text = card_text(card)
    assert f"<@{CUSTOMER}>" in text, "who wrote"
    assert f"<#{SUPPORT}>" in text or "/archives/" in text, "where it was written"
    assert "*delivery*" in text and "urgency *high*" in text and "angry" in text
    assert draft.text and draft.text.split(". ")[0] in text, "the draft itself"
    assert "Acknowledge and empathize" in text and "Follow-up owned" in text, "the checklist"
    assert "Escalate: the customer mentions legal action" in text, "the flags"
    fields = offer_fields(card)
    assert 2 <= len(fields) <= 3, "two or three offers side by side"
    assert any("Free express re-shipment" in f for f in fields)
    assert any("Account credit (20 USD)" in f for f in fields)
    assert {
        "approve_send",
        "edit_draft",
        "regenerate",
        "discard_draft",
        "choose_offers",
    } <= action_ids(card)
    approve = next(
        e
        for b in blocks_of_type(card, "actions")
        for e in b["elements"]
        if e["action_id"] == "approve_send"
    )
    assert approve["text"]["text"] == "Approve & send" and approve["style"] == "primary"
    assert len(card["blocks"]) <= 50
    assert all(
        len(b["text"]["text"]) <= 3000 for b in blocks_of_type(card, "section") if "text" in b
    )


async def test_agent_edits_the_draft_and_the_edited_text_is_what_the_customer_gets(
    running: RunningBot,
) -> None:
    ts, draft = await a_card(running)

    clicked_at = time.monotonic()
    status, _ = await click(running, draft, "edit_draft")
    assert status == 200
    view = await opened_view(running.slack, EDIT_VIEW)
    opened = running.slack.calls_to("views.open")[-1]
    assert opened.ok and opened.at - clicked_at < 3.0, "the modal opens within the trigger window"
    assert view["blocks"][0]["element"]["initial_value"] == draft.text, "prefilled with the draft"
    offers_input = next(b for b in view["blocks"] if b["block_id"] == "offers")["element"]
    assert [o["value"] for o in offers_input["initial_options"]] == [
        o.offer_id for o in draft.offers
    ]

    edited = (
        "Hi Casey, I'm sorry the gift missed the birthday. I can send a new one by courier "
        "today, at no cost. I'll check the tracking tomorrow and write to you here."
    )
    values = {
        **plain_text_values({"reply_0": {"text": edited}}),
        **selected("offers", "offers", ["express_reship"], kind="multi_static_select"),
    }
    status, answer = await submit(running, view, values)
    assert status == 200 and answer.get("response_action") is None, "the modal closes"

    card = await wait_for_card(running, draft, lambda m: "a new one by courier" in card_text(m))
    assert len(offer_fields(card)) == 1 and "Free express re-shipment" in offer_fields(card)[0]
    assert len(card_calls(running.slack)) >= 2 and all(
        c.args["ts"] == draft.card_ts
        for c in card_calls(running.slack)
        if c.method == "chat.update"
    ), "the same card was updated, not a new one posted"

    await click(running, draft, "approve_send")
    replies = await running.slack.wait_for(
        "chat.postMessage", where=lambda c: c.args.get("channel") == SUPPORT and c.ok
    )
    assert [r.args["text"] for r in replies] == [edited], "the EDITED text was sent, once"
    assert replies[0].args["thread_ts"] == ts
    await wait_for_card(running, draft, lambda m: "*Sent*" in card_text(m))

    trail = await running.store.decisions(draft_id=draft.id)
    edits = [d for d in trail if d.action == "edit"]
    assert len(edits) == 1 and edits[0].user_id == AGENT
    assert edits[0].detail["before"] == draft.text and edits[0].detail["after"] == edited
    assert edits[0].detail["offers_after"] == ["express_reship"]


async def test_an_empty_edit_is_refused_in_the_modal_and_changes_nothing(
    running: RunningBot,
) -> None:
    _, draft = await a_card(running)
    await click(running, draft, "edit_draft")
    view = await opened_view(running.slack, EDIT_VIEW)

    status, answer = await submit(running, view, plain_text_values({"reply_0": {"text": "  \n "}}))

    assert status == 200
    assert answer["response_action"] == "errors"
    assert "empty" in answer["errors"]["reply_0"]
    assert (await draft_now(running, draft.id)).text == draft.text
    assert not [d for d in await running.store.decisions(draft_id=draft.id) if d.action == "edit"]


async def test_regenerate_warmer_rewrites_the_same_card(running: RunningBot) -> None:
    _, draft = await a_card(running)
    assert WARMER_OPENING not in draft.text
    llm_calls_before = len(running.llm.requests)

    status, _ = await click(
        running, draft, "regenerate", with_value=False, selected_option="warmer"
    )
    assert status == 200

    rewritten = await wait_for_draft(running, draft.id, lambda d: WARMER_OPENING in d.text)
    assert rewritten.id == draft.id and rewritten.tone == "warmer" and rewritten.status == "pending"
    rewrite = running.llm.requests[llm_calls_before:]
    assert len(rewrite) == 1, "one LLM call for the rewrite"
    assert "in the warmer tone" in user_texts(rewrite[0])[-1]
    assert "<current_draft>" in user_texts(rewrite[0])[-1]
    card = await wait_for_card(running, draft, lambda m: WARMER_OPENING in card_text(m))
    assert card["ts"] == draft.card_ts
    assert len([c for c in card_calls(running.slack) if c.method == "chat.postMessage"]) == 1
    await running.slack.wait_for(
        "chat.postEphemeral",
        where=lambda c: c.args.get("user") == AGENT and "warmer" in str(c.args.get("text")),
    )


async def test_regenerate_with_guidance_opens_a_modal_and_sends_the_guidance_to_the_llm(
    running: RunningBot,
) -> None:
    _, draft = await a_card(running)

    await click(running, draft, "regenerate", with_value=False, selected_option="custom")
    view = await opened_view(running.slack, GUIDANCE_VIEW)
    assert not drafts_requested(running.llm)[1:], "nothing regenerated before the guidance is given"

    guidance = "Offer a call-back tomorrow morning and keep it under 80 words"
    status, _ = await submit(running, view, plain_text_values({"guidance": {"text": guidance}}))
    assert status == 200

    async def regenerated() -> bool:
        trail = await running.store.decisions(draft_id=draft.id)
        return any(d.action == "regenerate" and "after" in d.detail for d in trail)

    await wait_until(regenerated)
    rewrite = drafts_requested(running.llm)[-1]
    asked = user_texts(rewrite)[-1]
    assert "<agent_guidance>" in asked and guidance in asked.split("<agent_guidance>", 1)[1]
    assert all(guidance not in text for text in non_user_texts(rewrite)), "guidance is data"


async def test_agent_picks_other_offers_and_the_reply_is_rewritten_for_them(
    running: RunningBot,
) -> None:
    """The card never shows offers its text does not carry: Approve waits for the rewrite."""
    _, draft = await a_card(running)
    rewrite_held = asyncio.Event()
    default = running.llm.responder

    def follows_the_pick(request: dict[str, Any]) -> Any:
        asked = str(request["messages"])
        if schema_name(request) != DRAFT or "partial_refund" not in asked:
            return default(request)
        answer = default(request)
        answer["reply"] = (
            "I'm sorry the order let you down. I can give you a partial refund of 20% of the "
            "price, and I'd like to call you back at a time you pick to sort out the rest."
        )
        answer["offers"] = [
            {"offer_id": "partial_refund", "amount": 20, "why_it_helps": "Part of the price back."},
            {"offer_id": "callback", "amount": None, "why_it_helps": "One person owns it."},
        ]
        return answer

    async def hold_the_rewrite(body: dict[str, Any]) -> None:
        if schema_name(body) == DRAFT and "partial_refund" in str(body["messages"]):
            await rewrite_held.wait()

    running.llm.responder = follows_the_pick
    running.llm.hold = hold_the_rewrite  # type: ignore[method-assign]

    status, _ = await pick_offers(running, draft, ["partial_refund", "callback"])
    assert status == 200

    waiting = await wait_for_card(running, draft, lambda m: "Rewriting the reply" in card_text(m))
    assert "approve_send" not in action_ids(waiting), "no Approve while the text lags the offers"
    rewrite_held.set()

    card = await wait_for_card(running, draft, lambda m: "partial refund of 20%" in card_text(m))
    assert "approve_send" in action_ids(card), card_text(card)
    assert "Rewriting" not in card_text(card)
    fields = offer_fields(card)
    assert len(fields) == 2 and "Partial refund" in fields[0] and "call-back" in fields[1]
    asked = [r for r in drafts_requested(running.llm) if "partial_refund" in str(r["messages"])]
    assert asked, "the rewrite was told the offers the agent picked"
    assert any(d.action == "choose_offer" for d in await running.store.decisions(draft_id=draft.id))


async def test_discard_with_a_reason_is_final_and_a_late_approve_sends_nothing(
    running: RunningBot,
) -> None:
    _, draft = await a_card(running)
    old_card = card_message(running.slack, draft)

    await click(running, draft, "discard_draft")
    view = await opened_view(running.slack, DISCARD_VIEW)
    values = {
        **selected("reason", "choice", ["wrong_tone"], kind="radio_buttons"),
        **plain_text_values({"note": {"text": "Too stiff for this customer"}}),
    }
    status, _ = await submit(running, view, values)
    assert status == 200

    card = await wait_for_card(running, draft, lambda m: "Discarded" in card_text(m))
    assert f"<@{AGENT}>" in card_text(card)
    assert "Wrong tone or content: Too stiff for this customer" in card_text(card)
    assert "<!date^" in card_text(card), "says when"
    assert not blocks_of_type(card, "actions"), "the buttons are gone"

    # Someone still has the old card open and presses Approve on it.
    status, _ = await running.post(
        block_actions_body(
            action_id="approve_send",
            value=str(draft.id),
            block_id=f"card_{draft.id}",
            user_id=AGENT,
            channel_id=REVIEW,
            message_ts=str(draft.card_ts),
            message=old_card,
        )
    )
    assert status == 200
    await running.slack.wait_for(
        "chat.postEphemeral", where=lambda c: "discarded" in str(c.args.get("text"))
    )
    assert replies_to_customers(running.slack) == []
    assert (await draft_now(running, draft.id)).status == "discarded"


async def test_after_approval_the_card_says_who_sent_it_and_when_and_has_no_buttons(
    running: RunningBot,
) -> None:
    _, draft = await a_card(running)

    await click(running, draft, "approve_send")

    card = await wait_for_card(running, draft, lambda m: "*Sent*" in card_text(m))
    assert f"*Sent* by <@{AGENT}> <!date^" in card_text(card)
    assert not blocks_of_type(card, "actions")
    assert draft.text.split(". ")[0] in card_text(card), "the sent text stays readable"
    assert len(replies_to_customers(running.slack)) == 1


async def test_a_colleague_who_is_not_an_agent_cannot_approve(running: RunningBot) -> None:
    _, draft = await a_card(running)

    await click(running, draft, "approve_send", user=COLLEAGUE)

    await running.slack.wait_for(
        "chat.postEphemeral", where=lambda c: c.args.get("user") == COLLEAGUE
    )
    assert replies_to_customers(running.slack) == []
    assert (await draft_now(running, draft.id)).status == "pending"


@pytest.fixture
async def copying_bot(
    slack: FakeSlack, llm: FakeOpenAI, database_url: str
) -> AsyncIterator[RunningBot]:
    """A bot configured with TACTFUL_SEND_AS=agent: agents post replies themselves."""
    bot = await start_bot(
        bot_settings(slack, llm, database_url, TACTFUL_SEND_AS="agent"), slack, llm
    )
    try:
        yield bot
    finally:
        await stop_bot(bot)


async def test_send_as_agent_gives_the_agent_the_text_and_posts_nothing_to_the_customer(
    copying_bot: RunningBot,
) -> None:
    running = copying_bot
    _, draft = await a_card(running)

    await click(running, draft, "approve_send")

    notes = await running.slack.wait_for(
        "chat.postEphemeral", where=lambda c: c.args.get("user") == AGENT and c.ok
    )
    assert draft.text in str(notes[-1].args["text"])
    assert notes[-1].args["channel"] == REVIEW, "the copy stays out of the customer's channel"
    # The note is the handler's last step: had it posted to the customer, that came first.
    assert (await draft_now(running, draft.id)).status == "sent"
    assert not [
        c for c in running.slack.calls_to("chat.postMessage") if c.args["channel"] == SUPPORT
    ]
    actions = [d.action for d in await running.store.decisions(draft_id=draft.id)]
    assert "copy" in actions
    card = card_message(running.slack, draft)
    assert f"*Copied* by <@{AGENT}>" in card_text(card) and not blocks_of_type(card, "actions")


async def edit_to(running: RunningBot, draft: Draft, text: str) -> None:
    await click(running, draft, "edit_draft")
    view = await opened_view(running.slack, EDIT_VIEW)
    values = {
        **plain_text_values({"reply_0": {"text": text}}),
        **selected("offers", "offers", [o.offer_id for o in draft.offers],
                   kind="multi_static_select"),
    }
    status, _ = await submit(running, view, values)
    assert status == 200


async def test_an_edit_is_checked_again_and_a_promise_beyond_authority_blocks_approve(
    running: RunningBot,
) -> None:
    _, draft = await a_card(running)

    await edit_to(running, draft, "So sorry! I have issued a refund of $5000 and upgraded you "
                                  "to lifetime VIP. Details at <https://evil.example|your refund>.")

    card = await wait_for_card(running, draft, lambda m: "lifetime VIP" in card_text(m))
    assert "approve_send" not in action_ids(card) and "override_blocks" in action_ids(card)
    assert ":no_entry:" in card_text(card)
    await click(running, draft, "approve_send")
    assert replies_to_customers(running.slack) == []


async def test_an_edit_after_a_refused_send_is_what_the_next_approve_sends(
    running: RunningBot,
) -> None:
    ts, draft = await a_card(running)
    running.slack.fail_next("chat.postMessage", error="is_archived")
    await click(running, draft, "approve_send")
    await wait_for_card(running, draft, lambda m: "Sending failed" in card_text(m))

    fixed = draft.text + " P.S. I have added a note to your order so this does not repeat."
    await edit_to(running, await draft_now(running, draft.id), fixed)
    edited = await wait_for_card(running, draft, lambda m: "P.S. I have added" in card_text(m))
    assert "approve_send" in action_ids(edited)

    await click(running, await draft_now(running, draft.id), "approve_send")
    replies = await running.slack.wait_for(
        "chat.postMessage", where=lambda c: c.args.get("channel") == SUPPORT and c.ok
    )
    assert [r.args["text"] for r in replies] == [fixed] and replies[0].args["thread_ts"] == ts

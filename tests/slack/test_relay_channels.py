"""Stories of a relay channel: agents paste customers' e-mails, chats and phone notes.

The bot runs for real (signed events and clicks over HTTP, FakeSlack, FakeOpenAI).
Its model greets whoever the request names in ``<customer_name>``, so a story
can see which name reached the model and where the draft went.  Pastes are
the fixtures of ``tests/fixtures/relay``, sent as Slack delivers them.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.domain.approval import fingerprint
from app.settings import SettingsError, load_settings
from app.slack.modals import EDIT_VIEW
from tests.domain.test_relay_parser import paste, slack_encoded
from tests.fakes.openai_api import BRIEF, FIRST_DRAFT, FakeOpenAI, default_reply, schema_name
from tests.fakes.signing import (
    TEAM_ID,
    block_actions_body,
    message_shortcut_body,
    slash_command_body,
)
from tests.fakes.slack_api import FakeSlack
from tests.slack.conftest import (
    AGENT,
    COLLEAGUE,
    CUSTOMER_TEAM,
    REVIEW,
    SUPPORT,
    RunningBot,
    all_jobs_done,
    bot_settings,
    start_bot,
    stop_bot,
    wait_until,
)
from tests.slack.flows import (
    action_ids,
    card_message,
    card_text,
    click,
    opened_view,
    request_draft_of,
    texts_in,
    user_texts,
    wait_for_card,
    wait_for_draft,
)

RELAY = "C0RELAY"
_NAME = re.compile(r"<customer_name>\s*(.*?)\s*</customer_name>", re.DOTALL)
# A word of each paste's agent note that the customer never wrote.
NOTES = {
    "forwarded_outlook.txt": "contact form",
    "forwarded_gmail_de.txt": "Kannst du mir hier helfen",
    "chat_transcript.txt": "he left before I could offer",
}


def greeting_model(request: dict[str, Any]) -> dict[str, Any] | str:
    """The default fake model, greeting the customer the request names by first name."""
    answer = default_reply(request)
    if schema_name(request) == FIRST_DRAFT and isinstance(answer, dict) and answer.get("reply"):
        names = [m for text in user_texts(request) for m in _NAME.findall(text)]
        if names:
            answer = {**answer, "reply": f"Hi {names[0].split()[0]},\n\n{answer['reply']}"}
    return answer


@pytest.fixture
async def greeting_llm() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI(responder=greeting_model) as fake:
        yield fake


@pytest.fixture
async def relay_bot(
    slack: FakeSlack, greeting_llm: FakeOpenAI, database_url: str
) -> AsyncIterator[RunningBot]:
    slack.add_channel(RELAY, name="support-relay")
    settings = bot_settings(slack, greeting_llm, database_url, TACTFUL_RELAY_CHANNELS=RELAY)
    bot = await start_bot(settings, slack, greeting_llm)
    try:
        yield bot
    finally:
        await stop_bot(bot)


async def agent_pastes(
    running: RunningBot, text: str, *, user: str = AGENT, thread_ts: str | None = None,
    user_team: str | None = None,
) -> str:
    ts, status = await running.customer_says(
        slack_encoded(text), user=user, channel=RELAY, thread_ts=thread_ts,
        user_team=user_team or TEAM_ID,
    )
    assert status == 200
    return ts


def draft_requests(llm: FakeOpenAI) -> list[dict[str, Any]]:
    return [r for r in llm.requests if schema_name(r) == FIRST_DRAFT]


def posted_in(slack: FakeSlack, channel: str) -> list[Any]:
    return [c for c in slack.calls_to("chat.postMessage") if c.args.get("channel") == channel]


@pytest.mark.parametrize(
    ("fixture", "name", "words"),
    [
        ("forwarded_outlook.txt", "Priya Natarajan", "second time you have sent the coat"),
        ("forwarded_gmail_de.txt", "Greta Hoffmann", "Hochzeit am Samstag"),
        ("reply_quoted_below.txt", "Marcus Webb", "both charges of 480 USD"),
        ("chat_transcript.txt", "Tom Becker", "parquet is ruined"),
        ("phone_note.txt", "Anna Berg", "oven door glass cracked"),
    ],
)
async def test_a_paste_gets_a_card_for_the_customer_it_quotes_never_the_agent(
    relay_bot: RunningBot, fixture: str, name: str, words: str
) -> None:
    ts = await agent_pastes(relay_bot, paste(fixture))
    draft = await request_draft_of(relay_bot, channel=RELAY, message_ts=ts, source="watch")
    complaint = await relay_bot.store.get_complaint(complaint_id=draft.complaint_id)
    assert complaint.channel_kind == "relay" and complaint.user_name == name
    assert words in complaint.text

    # What reached the model: the customer's words as the message, their name to greet.
    request = draft_requests(relay_bot.llm)[-1]
    users = "\n".join(user_texts(request))
    customer_part = users.split("<customer_message>", 1)[1]
    assert words in customer_part
    assert f"<customer_name>\n{name}\n</customer_name>" in users
    note = NOTES.get(fixture)
    if note:
        # The agent's note is guidance, never the customer's words.
        assert note not in customer_part
        assert note in users.split("<agent_guidance>", 1)[1].split("</agent_guidance>", 1)[0]
    system = "\n".join(str(m["content"]) for m in request["messages"] if m["role"] == "system")
    assert "A message an agent passed on" in system

    # The card names the customer and how the message came in, and greets them.
    card = await wait_for_card(relay_bot, draft, lambda m: "approve_send" in action_ids(m))
    shown = card_text(card)
    assert f"*Customer* *{name}*" in shown and f"in <#{RELAY}>" in shown
    assert "Relayed " in shown and f"by <@{AGENT}>" in shown
    assert f"Hi {name.split()[0]}," in draft.text
    assert "Ana" not in draft.text.split("\n", 1)[0], "never greets the relaying agent"
    assert posted_in(relay_bot.slack, RELAY) == [], "nothing posted in the relay channel"


async def test_the_pasted_signature_and_quoted_support_promise_stay_out_of_the_reply_backing(
    relay_bot: RunningBot,
) -> None:
    ts = await agent_pastes(relay_bot, paste("forwarded_outlook.txt"))
    draft = await request_draft_of(relay_bot, channel=RELAY, message_ts=ts, source="watch")
    sent_to_llm = json.dumps(draft_requests(relay_bot.llm)[-1])
    for personal in ("7700 900123", "Carver Street", "priya.natarajan@"):
        assert personal not in sent_to_llm
    # The quoted history reached the model as history, labelled by who wrote it.
    assert 'author=\\"agent\\"' in sent_to_llm and "refund 200 USD" in sent_to_llm
    assert draft.status == "pending"


async def test_approve_gives_copy_ready_text_and_mark_as_sent_records_the_decision(
    relay_bot: RunningBot,
) -> None:
    ts = await agent_pastes(relay_bot, paste("forwarded_gmail_de.txt"))
    draft = await request_draft_of(relay_bot, channel=RELAY, message_ts=ts, source="watch")
    card = await wait_for_card(relay_bot, draft, lambda m: "approve_send" in action_ids(m))
    assert "Approve & copy" in card_text(card)

    await relay_bot.post(block_actions_body(
        action_id="approve_send", value=f"{draft.id}:{fingerprint(draft.text)}", user_id=AGENT,
        channel_id=REVIEW, message_ts=str(draft.card_ts),
    ))
    copies = await relay_bot.slack.wait_for(
        "chat.postEphemeral", where=lambda c: c.args.get("user") == AGENT and c.args.get("blocks")
    )
    blocks = copies[0].args["blocks"]
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    plain = [b["text"]["text"] for b in blocks if b.get("text", {}).get("type") == "plain_text"]
    assert "\n".join(plain) == draft.text, "the exact text, as plain text to copy"
    assert "```" not in json.dumps(blocks)
    assert (await relay_bot.store.get_draft(draft_id=draft.id)).status == "pending"
    assert posted_in(relay_bot.slack, RELAY) == [] and posted_in(relay_bot.slack, SUPPORT) == []

    button = next(e for b in blocks if b["type"] == "actions" for e in b["elements"])
    assert button["action_id"] == "mark_relayed_sent"
    await relay_bot.post(block_actions_body(
        action_id="mark_relayed_sent", value=button["value"], user_id=AGENT, channel_id=REVIEW,
        message_ts="1764000999.000001", ephemeral=True,
        response_url=relay_bot.slack.response_url("copy"),
    ))
    sent = await wait_for_draft(relay_bot, draft.id, lambda d: d.status == "sent")
    assert sent.decided_by == AGENT and not sent.sent_ts
    actions = [d.action for d in await relay_bot.store.decisions(draft_id=draft.id)]
    assert "copy" in actions
    answer = await relay_bot.slack.wait_for("response_url", where=lambda c: c.args.get("hook") == "copy")
    assert "Marked as sent" in answer[0].args["text"]
    card = await wait_for_card(relay_bot, draft, lambda m: "Sent by e-mail or chat" in card_text(m))
    assert "approve_send" not in action_ids(card)
    assert posted_in(relay_bot.slack, RELAY) == [], "never a post that pretends to reach the customer"


async def test_editing_and_regenerating_work_as_in_customer_channels(relay_bot: RunningBot) -> None:
    ts = await agent_pastes(relay_bot, paste("chat_transcript.txt"))
    draft = await request_draft_of(relay_bot, channel=RELAY, message_ts=ts, source="watch")
    await wait_for_card(relay_bot, draft, lambda m: "approve_send" in action_ids(m))
    await click(relay_bot, draft, "regenerate", with_value=False, selected_option="formal")
    rewritten = await wait_for_draft(relay_bot, draft.id, lambda d: d.tone == "formal")
    assert rewritten.status == "pending"
    card = await wait_for_card(relay_bot, draft, lambda m: "tone formal" in card_text(m))
    assert "*Customer* *Tom Becker*" in card_text(card), "the card still names the customer"

    # Edit: the modal opens prefilled; the edited text is what Approve hands over.
    await click(relay_bot, draft, "edit_draft")
    view = await opened_view(relay_bot.slack, EDIT_VIEW)
    assert rewritten.text in json.dumps(view, ensure_ascii=False)
    assert posted_in(relay_bot.slack, RELAY) == []


async def test_replies_in_a_relay_thread_and_chatter_get_no_card(relay_bot: RunningBot) -> None:
    root = await agent_pastes(relay_bot, paste("phone_note.txt"))
    await request_draft_of(relay_bot, channel=RELAY, message_ts=root, source="watch")
    cards = len(posted_in(relay_bot.slack, REVIEW))

    await agent_pastes(relay_bot, "She called again, now she wants a refund.", thread_ts=root,
                       user=COLLEAGUE)
    await agent_pastes(relay_bot, paste("chatter.txt"), user=COLLEAGUE)
    await agent_pastes(relay_bot, paste("forwarded_outlook.txt"), user_team=CUSTOMER_TEAM)
    await wait_until(lambda: all_jobs_done(relay_bot))
    assert len(posted_in(relay_bot.slack, REVIEW)) == cards
    assert len(draft_requests(relay_bot.llm)) == 1


async def test_a_colleague_who_is_no_agent_relays_too_and_is_not_the_customer(
    relay_bot: RunningBot,
) -> None:
    ts = await agent_pastes(relay_bot, paste("reply_quoted_below.txt"), user=COLLEAGUE)
    draft = await request_draft_of(relay_bot, channel=RELAY, message_ts=ts, source="watch")
    complaint = await relay_bot.store.get_complaint(complaint_id=draft.complaint_id)
    assert complaint.user_name == "Marcus Webb" and complaint.user_id == COLLEAGUE
    assert "Hi Marcus," in draft.text
    assert "Colin" not in card_text(card_message(relay_bot.slack, draft)).split("by <@")[0]


async def test_slash_draft_of_a_pasted_email_gives_copy_ready_text(relay_bot: RunningBot) -> None:
    text = paste("reply_quoted_below.txt")
    status, _ = await relay_bot.post(slash_command_body(
        "/tactful", f"draft {slack_encoded(text)}", AGENT, RELAY,
        response_url=relay_bot.slack.response_url("cmd"),
    ))
    assert status == 200
    answer = (await relay_bot.slack.wait_for(
        "response_url", where=lambda c: c.args.get("hook") == "cmd"
    ))[0].args
    shown = "\n".join(texts_in(answer["blocks"]))
    assert "Copy-ready text" in shown and "Hi Marcus," in shown
    assert posted_in(relay_bot.slack, RELAY) == []


async def test_customer_channels_behave_as_before_next_to_a_relay_channel(
    relay_bot: RunningBot,
) -> None:
    ts, _ = await relay_bot.customer_says("My order #4821 never arrived and nobody answers me.")
    draft = await relay_bot.card_for(ts)
    complaint = await relay_bot.store.get_complaint(complaint_id=draft.complaint_id)
    assert complaint.channel_kind == "customer"
    assert "<customer_name>" not in json.dumps(draft_requests(relay_bot.llm)[-1])
    card = await wait_for_card(relay_bot, draft, lambda m: "approve_send" in action_ids(m))
    assert "Approve & send" in card_text(card) and "Relayed" not in card_text(card)
    await relay_bot.post(block_actions_body(
        action_id="approve_send", value=str(draft.id), user_id=AGENT, channel_id=REVIEW,
        message_ts=str(draft.card_ts),
    ))
    reply = await relay_bot.slack.wait_for(
        "chat.postMessage", where=lambda c: c.args.get("channel") == SUPPORT and c.ok
    )
    assert reply[0].args["thread_ts"] == ts
    # An agent's own message in the customer channel is still no complaint.
    await relay_bot.customer_says(paste("forwarded_outlook.txt"), user=AGENT, user_team=TEAM_ID)
    await wait_until(lambda: all_jobs_done(relay_bot))
    assert len(draft_requests(relay_bot.llm)) == 1


async def test_a_brief_of_a_relay_thread_reads_the_customers_case_from_the_paste(
    relay_bot: RunningBot,
) -> None:
    root = await agent_pastes(relay_bot, paste("forwarded_outlook.txt"))
    await request_draft_of(relay_bot, channel=RELAY, message_ts=root, source="watch")
    await agent_pastes(relay_bot, "Warehouse confirms the 14 ships today.", thread_ts=root,
                       user=COLLEAGUE)
    status, _ = await relay_bot.post(message_shortcut_body(
        callback_id="summarize_thread", user_id=AGENT, channel_id=RELAY,
        message={"ts": root, "text": slack_encoded(paste("forwarded_outlook.txt")), "user": AGENT},
        response_url=relay_bot.slack.response_url("brief"),
    ))
    assert status == 200
    request = await wait_until(
        lambda: next((r for r in relay_bot.llm.requests if schema_name(r) == BRIEF), None),
        timeout=30,
    )
    users = "\n".join(user_texts(request))
    assert "internal relay channel" in users, "the brief knows the channel kind"
    elements = users.split("<message ")[1:]
    customer = [m for m in elements if 'author="customer"' in m.split(">", 1)[0]]
    assert any("second time you have sent the coat" in m for m in customer)
    assert not any("contact form" in m for m in customer), "the agent's note is no customer's"
    assert "Warehouse confirms" in users and "7700 900123" not in users


async def test_stats_count_complaints_by_channel_kind(relay_bot: RunningBot) -> None:
    ts = await agent_pastes(relay_bot, paste("phone_note.txt"))
    await request_draft_of(relay_bot, channel=RELAY, message_ts=ts, source="watch")
    customer_ts, _ = await relay_bot.customer_says("My order #4821 never arrived, it's a disgrace.")
    await relay_bot.card_for(customer_ts)
    stats = await relay_bot.store.stats()
    kinds = {k.kind: (k.complaints, k.sent) for k in stats.by_channel_kind}
    assert kinds == {"customer": (1, 0), "relay": (1, 0)}


def test_relay_channels_setting_takes_lists_and_keeps_the_review_channel_out() -> None:
    settings = load_settings(TACTFUL_RELAY_CHANNELS="C0RELAY1, C0RELAY2")
    assert settings.relay_channels == ["C0RELAY1", "C0RELAY2"]
    assert load_settings(TACTFUL_RELAY_CHANNELS='["C0RELAY1"]').relay_channels == ["C0RELAY1"]
    with pytest.raises(SettingsError, match="not a channel ID"):
        load_settings(TACTFUL_RELAY_CHANNELS="general")
    with pytest.raises(SettingsError, match="TACTFUL_RELAY_CHANNELS"):
        load_settings(TACTFUL_RELAY_CHANNELS=REVIEW, TACTFUL_REVIEW_CHANNEL=REVIEW)

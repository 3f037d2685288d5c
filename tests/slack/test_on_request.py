"""Stories of an agent asking for a draft: the message shortcut, an @tactful mention, /tactful.

What comes back goes to the review channel or to the asking agent alone,
never where a customer could read it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.slack.guard import NOT_AN_AGENT
from app.slack.listeners.commands import MAX_COMMAND_TEXT
from tests.fakes.openai_api import BRIEF, FIRST_DRAFT, schema_name
from tests.fakes.signing import (
    TEAM_ID,
    block_actions_body,
    event_callback_body,
    message_event,
    message_shortcut_body,
    slash_command_body,
)
from tests.fakes.slack_api import FakeSlack, SlackCall
from tests.slack.conftest import (
    AGENT,
    COLLEAGUE,
    CUSTOMER,
    CUSTOMER_TEAM,
    OUTSIDER_LISTED,
    REVIEW,
    SUPPORT,
    RunningBot,
    approve_click,
    card_updates,
    cards_posted,
    next_ts,
    replies_to_customers,
    wait_until,
)
from tests.slack.flows import (
    action_ids,
    card_text,
    request_draft_of,
    texts_in,
    user_texts,
    wait_for_card,
)

LATE_PARCEL = (
    "Where is my parcel? It was due Tuesday and the tracking has said 'in transit' for a week."
)


def drafts_asked(running: RunningBot) -> list[dict[str, Any]]:
    return [r for r in running.llm.requests if schema_name(r) == FIRST_DRAFT]


async def answered_by_hook(running: RunningBot, hook: str, count: int = 1) -> list[SlackCall]:
    return await running.slack.wait_for(
        "response_url", count=count, where=lambda c: c.args.get("hook") == hook
    )


async def command(
    running: RunningBot, text: str, *, user: str = AGENT, hook: str = "cmd"
) -> dict[str, Any]:
    """An agent types ``/tactful <text>``; returns the bot's immediate (acked) answer."""
    status, body = await running.post(
        slash_command_body(
            "/tactful", text, user, SUPPORT, response_url=running.slack.response_url(hook)
        )
    )
    assert status == 200
    return json.loads(body) if body.strip() else {}


# --- the message shortcut ------------------------------------------------------------


def private_cards(slack: FakeSlack, user: str = AGENT) -> list[SlackCall]:
    """Cards the bot posted in its direct messages with ``user``."""
    dm = slack.workspace.direct_channel(user)
    return [c for c in slack.calls_to("chat.postMessage") if c.args.get("channel") == dm and c.ok]


async def test_draft_a_reply_shortcut_sends_the_card_to_the_asker_alone(
    running: RunningBot,
) -> None:
    ts = next_ts()
    running.slack.add_message(SUPPORT, ts, LATE_PARCEL, user=CUSTOMER)

    status, _ = await running.post(
        message_shortcut_body(
            callback_id="draft_reply",
            user_id=AGENT,
            channel_id=SUPPORT,
            message={"ts": ts, "text": LATE_PARCEL, "user": CUSTOMER},
            response_url=running.slack.response_url("x"),
        )
    )
    assert status == 200

    draft = await request_draft_of(running, channel=SUPPORT, message_ts=ts, source="shortcut")
    assert draft.card_channel == running.slack.workspace.direct_channel(AGENT)
    assert len(private_cards(running.slack)) == 1 and cards_posted(running.slack) == []
    note = (await answered_by_hook(running, "x"))[0].args
    assert note["response_type"] == "ephemeral" and "direct message" in note["text"]
    assert "in transit" in drafts_asked(running)[0]["messages"][-1]["content"]
    assert not [
        c for c in running.slack.calls_to("chat.postMessage") if c.args["channel"] == SUPPORT
    ]


@pytest.mark.parametrize(
    ("user", "team"),
    [(COLLEAGUE, TEAM_ID), (OUTSIDER_LISTED, CUSTOMER_TEAM)],
    ids=["internal-colleague", "listed-slack-connect-guest"],
)
async def test_the_shortcut_is_refused_to_anyone_but_an_agent(
    running: RunningBot, user: str, team: str
) -> None:
    ts = next_ts()
    running.slack.add_message(SUPPORT, ts, LATE_PARCEL, user=CUSTOMER)

    await running.post(
        message_shortcut_body(
            callback_id="draft_reply",
            user_id=user,
            user_team_id=team,
            channel_id=SUPPORT,
            message={"ts": ts, "text": LATE_PARCEL, "user": CUSTOMER},
            response_url=running.slack.response_url("no"),
        )
    )

    refusal = (await answered_by_hook(running, "no"))[0].args
    assert refusal["text"] == NOT_AN_AGENT and refusal["response_type"] == "ephemeral"
    assert (
        await running.store.find_complaint(channel_id=SUPPORT, message_ts=ts, source="shortcut")
        is None
    )
    assert running.llm.requests == [] and cards_posted(running.slack) == []


# --- @tactful in a thread ------------------------------------------------------------


async def test_a_mention_with_guidance_drafts_a_reply_to_the_latest_customer_message(
    running: RunningBot,
) -> None:
    root, agent_ts, latest, mention_ts = next_ts(), next_ts(), next_ts(), next_ts()
    slack = running.slack
    slack.add_message(SUPPORT, root, "My desk arrived with a cracked leg.", user=CUSTOMER)
    slack.add_message(
        SUPPORT, agent_ts, "So sorry! Could you send a photo?", user=AGENT, thread_ts=root
    )
    slack.add_message(
        SUPPORT, latest, "Photo attached. I need it for Monday.", user=CUSTOMER, thread_ts=root
    )
    asking = "<@UBOT> offer express shipping, keep it short"
    slack.add_message(SUPPORT, mention_ts, asking, user=AGENT, thread_ts=root)

    event = message_event(
        SUPPORT, asking, user=AGENT, ts=mention_ts, thread_ts=root, user_team=TEAM_ID, mention=True
    )
    status, _ = await running.post(event_callback_body(event, event_id="EvMENTION1"))
    assert status == 200

    draft = await request_draft_of(running, channel=SUPPORT, message_ts=latest, source="mention")
    assert draft.card_channel == slack.workspace.direct_channel(AGENT)
    assert len(private_cards(slack)) == 1 and cards_posted(slack) == []
    asked = "\n".join(user_texts(drafts_asked(running)[-1]))
    guidance = asked.split("<agent_guidance>", 1)[1].split("</agent_guidance>", 1)[0]
    assert guidance.strip() == "offer express shipping, keep it short"
    replied_to = asked.split("<customer_message>", 1)[1].split("</customer_message>", 1)[0]
    assert "I need it for Monday" in replied_to and "cracked leg" not in replied_to
    note = await slack.wait_for("chat.postEphemeral", where=lambda c: c.args.get("user") == AGENT)
    assert note[0].args["thread_ts"] == root and "direct message" in note[0].args["text"]
    assert not [c for c in slack.calls_to("chat.postMessage") if c.args["channel"] == SUPPORT]


# --- /tactful ------------------------------------------------------------------------


async def test_slash_draft_answers_only_the_agent_through_the_response_url(
    running: RunningBot,
) -> None:
    acked = await command(running, f"draft {LATE_PARCEL}", hook="draft")

    assert acked["response_type"] == "ephemeral" and "only you" in acked["text"]
    answer = (await answered_by_hook(running, "draft"))[0].args
    assert answer["response_type"] == "ephemeral"
    shown = "\n".join(texts_in(answer["blocks"]))
    assert "sorting backlog" in shown, "the draft text itself"
    assert "Free express re-shipment" in shown, "with its offers"
    assert running.slack.calls_to("chat.postMessage") == [], "nothing posted in any channel"
    assert running.slack.calls_to("chat.update") == []


@pytest.mark.parametrize("text", ["", "help", "redraft this"])
async def test_slash_without_a_known_verb_shows_the_usage(running: RunningBot, text: str) -> None:
    acked = await command(running, text)

    assert "/tactful draft" in acked["text"] and "/tactful summarize" in acked["text"]
    assert acked["response_type"] == "ephemeral"
    assert running.llm.requests == []


async def test_slash_summarize_sends_a_brief_of_the_linked_thread(running: RunningBot) -> None:
    root, reply = next_ts(), next_ts()
    running.slack.add_message(SUPPORT, root, "You charged me twice for March!", user=CUSTOMER)
    running.slack.add_message(
        SUPPORT, reply, "I see both charges; refunding one now.", user=AGENT, thread_ts=root
    )
    link = f"https://fake.slack.test/archives/{SUPPORT}/p{root.replace('.', '')}"

    acked = await command(running, f"summarize {link}", hook="brief")

    assert "direct messages" in acked["text"] and acked["response_type"] == "ephemeral"
    answer = (await brief_in_dm(running))[0].args
    shown = "\n".join(texts_in(answer["blocks"]))
    assert "Escalation brief" in shown and "*Next step*" in shown
    asked = [r for r in running.llm.requests if schema_name(r) == BRIEF]
    assert len(asked) == 1 and "charged me twice" in "\n".join(user_texts(asked[0]))
    assert [c.args["channel"] for c in running.slack.calls_to("chat.postMessage")] == [
        running.slack.workspace.direct_channel(AGENT)
    ], "only the asker's private note"


async def brief_in_dm(running: RunningBot, user: str = AGENT) -> list[SlackCall]:
    """The updates of the asker's private note that show a brief."""
    dm = running.slack.workspace.direct_channel(user)
    return await running.slack.wait_for(
        "chat.update",
        where=lambda c: c.args.get("channel") == dm and "Escalation brief" in str(c.args.get("text")),
    )


async def test_a_slack_connect_guest_cannot_use_the_command_even_when_listed(
    running: RunningBot,
) -> None:
    acked = await command(running, f"draft {LATE_PARCEL}", user=OUTSIDER_LISTED)

    assert acked["text"] == NOT_AN_AGENT
    assert running.llm.requests == []
    assert running.slack.calls_to("response_url") == []


async def test_a_command_text_over_the_limit_gets_a_clear_error(running: RunningBot) -> None:
    acked = await command(running, "draft " + "My order is late. " * 400)

    assert f"up to {MAX_COMMAND_TEXT}" in acked["text"]
    assert "shortcut" in acked["text"], "and says what to do instead"
    assert running.llm.requests == []


async def test_card_from_a_shortcut_reads_like_any_other_card(running: RunningBot) -> None:
    """The shortcut's card carries the same content as a watched message's card."""
    ts = next_ts()
    running.slack.add_message(SUPPORT, ts, LATE_PARCEL, user=CUSTOMER)
    await running.post(
        message_shortcut_body(
            callback_id="draft_reply",
            user_id=AGENT,
            channel_id=SUPPORT,
            message={"ts": ts, "text": LATE_PARCEL, "user": CUSTOMER},
            response_url=running.slack.response_url("y"),
        )
    )
    draft = await request_draft_of(running, channel=SUPPORT, message_ts=ts, source="shortcut")
    card = await wait_for_card(running, draft, lambda m: "approve_send" in action_ids(m))
    text = card_text(card)
    assert f"<@{CUSTOMER}>" in text and "Approve & send" in text


async def test_a_private_draft_is_approved_from_the_dm_or_shared_with_the_team(
    running: RunningBot,
) -> None:
    """Approve & send works from the asker's DM; Share moves the card to the review channel."""
    sent_ts, shared_ts = next_ts(), next_ts()
    for ts in (sent_ts, shared_ts):
        running.slack.add_message(SUPPORT, ts, LATE_PARCEL, user=CUSTOMER)
        await running.post(
            message_shortcut_body(
                callback_id="draft_reply", user_id=AGENT, channel_id=SUPPORT,
                message={"ts": ts, "text": LATE_PARCEL, "user": CUSTOMER},
                response_url=running.slack.response_url(f"p{ts}"),
            )
        )
    to_send = await request_draft_of(running, channel=SUPPORT, message_ts=sent_ts, source="shortcut")
    to_share = await request_draft_of(running, channel=SUPPORT, message_ts=shared_ts, source="shortcut")
    dm = running.slack.workspace.direct_channel(AGENT)

    await running.post(approve_click(to_send))
    sent = await wait_until(lambda: _in_state(running, to_send.id, "sent"))
    assert sent.sent_channel == SUPPORT
    assert [c.args["thread_ts"] for c in replies_to_customers(running.slack)] == [sent_ts]

    status, _ = await running.post(
        block_actions_body(action_id="share_card", value=str(to_share.id), user_id=AGENT,
                           channel_id=dm, message_ts=to_share.card_ts)
    )
    assert status == 200
    shared = await wait_until(
        lambda: _card_moved(running, to_share.id, dm)
    )
    assert shared.card_channel == REVIEW and len(cards_posted(running.slack)) == 1
    retired = card_updates(running.slack, str(to_share.card_ts))[-1].args
    assert "Shared in" in retired["text"] and "approve_send" not in json.dumps(retired["blocks"])


async def _card_moved(running: RunningBot, draft_id: int, dm: str) -> Any:
    draft = await running.store.get_draft(draft_id=draft_id)
    return draft if draft is not None and draft.card_channel not in (None, dm) else None


async def _in_state(running: RunningBot, draft_id: int, status: str) -> Any:
    draft = await running.store.get_draft(draft_id=draft_id)
    return draft if draft is not None and draft.status == status else None


async def test_a_brief_is_refused_for_a_channel_the_asker_is_not_in(running: RunningBot) -> None:
    running.slack.add_channel("C0LEGAL", members=["UBOT"])
    root = next_ts()
    running.slack.add_message("C0LEGAL", root, "Settlement terms for the Dupont case", user=COLLEAGUE)
    link = f"https://fake.slack.test/archives/C0LEGAL/p{root.replace('.', '')}"

    await command(running, f"summarize {link}", hook="nope")

    dm = running.slack.workspace.direct_channel(AGENT)
    answer = (
        await running.slack.wait_for(
            "chat.update", where=lambda c: c.args.get("channel") == dm and "not a member" in c.args["text"]
        )
    )[0].args
    assert "not a member" in answer["text"]
    assert [r for r in running.llm.requests if schema_name(r) == BRIEF] == []


@pytest.mark.parametrize("ask", ["summarize this thread", "Summary please", "brief", "escalate this"])
async def test_asking_the_mention_for_a_summary_gives_a_brief_not_a_draft(
    running: RunningBot, ask: str
) -> None:
    root, mention_ts = next_ts(), next_ts()
    slack = running.slack
    slack.add_message(SUPPORT, root, "Third week without internet. I want compensation.", user=CUSTOMER)
    slack.add_message(SUPPORT, mention_ts, f"<@UBOT> {ask}", user=AGENT, thread_ts=root)

    event = message_event(SUPPORT, f"<@UBOT> {ask}", user=AGENT, ts=mention_ts, thread_ts=root,
                          mention=True)
    await running.post(event_callback_body(event, event_id=f"EvBRIEF{abs(hash(ask))}"))

    note = await slack.wait_for("chat.postEphemeral", where=lambda c: c.args.get("user") == AGENT)
    assert "direct messages" in note[0].args["text"]
    shown = await brief_in_dm(running)
    assert "Escalation brief" in "\n".join(texts_in(shown[0].args["blocks"]))
    asked = {schema_name(r) for r in running.llm.requests}
    assert asked == {BRIEF}, "no draft was asked for"
    assert cards_posted(slack) == []

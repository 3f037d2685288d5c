"""Stories of escalation briefs through the real bot: long threads, every way to ask, sharing.

The thread lives in the fake Slack (2,500 generated messages, read over many
``conversations.replies`` pages, one of them answered 429); the model is the
fake OpenAI, whose requests show which messages reached which call.  The
brief arrives in the asker's direct messages with tactful: a note updated in
place, then the brief with its buttons.
"""

from __future__ import annotations

import json
import re
from typing import Any

from app.slack.brief_blocks import REFRESH, SEND_TO_REVIEW, SHARE_IN_THREAD
from app.slack.guard import NOT_AN_AGENT
from app.slack.threads import PAGE
from tests.fakes.openai_api import BRIEF, BRIEF_PART, FIRST_DRAFT, schema_name
from tests.fakes.openai_replies import brief_reply, message_ids
from tests.fakes.signing import (
    block_actions_body,
    event_callback_body,
    message_event,
    message_shortcut_body,
    slash_command_body,
)
from tests.fakes.slack_api import FakeSlack, SlackCall
from tests.fixtures.threads.generate import Thread, long_thread
from tests.slack.conftest import (
    AGENT,
    OUTSIDER_LISTED,
    REVIEW,
    SUPPORT,
    RunningBot,
    bot_settings,
    start_bot,
    stop_bot,
    wait_until,
)
from tests.slack.flows import texts_in

ESCALATIONS = "C0ESCAL"  # an internal channel: a brief may be shared in its threads
_ID = re.compile(r'<message id="([^"]+)"')


def seed(slack: FakeSlack, thread: Thread, channel: str = SUPPORT) -> None:
    for m in thread.messages:
        slack.workspace.add_message(
            channel, m["ts"], m["text"], user=m.get("user") or "", bot_id=m.get("bot_id"),
            thread_ts=None if m["ts"] == thread.root else thread.root,
        )


def brief_shown(slack: FakeSlack, user: str = AGENT) -> list[SlackCall]:
    """The chat.update calls that turned the asker's note into a brief."""
    dm = slack.workspace.direct_channel(user)
    return [
        c for c in slack.calls_to("chat.update")
        if c.args.get("channel") == dm and c.ok and "Escalation brief" in json.dumps(c.args.get("blocks"))
    ]


async def wait_for_brief(running: RunningBot, count: int = 1) -> list[SlackCall]:
    return await wait_until(lambda: len(brief_shown(running.slack)) >= count and brief_shown(running.slack),
                            timeout=30)


def user_text(request: dict[str, Any]) -> str:
    return "\n".join(m["content"] for m in request["messages"] if m["role"] == "user")


def shortcut(running: RunningBot, thread: Thread, *, user: str = AGENT, channel: str = SUPPORT) -> Any:
    root = thread.messages[0]
    return message_shortcut_body(
        callback_id="summarize_thread", user_id=user, channel_id=channel,
        message={"ts": root["ts"], "text": root["text"], "user": root.get("user")},
        response_url=running.slack.response_url("brief"),
        user_team_id=None if user != OUTSIDER_LISTED else "T0CUSTOMER",
    )


def button(shown: SlackCall, action_id: str) -> str:
    for block in shown.args["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return str(element["value"])
    raise AssertionError(f"no {action_id} button")


async def click(running: RunningBot, shown: SlackCall, action_id: str, hook: str) -> None:
    status, _ = await running.post(
        block_actions_body(
            action_id=action_id, value=button(shown, action_id), user_id=AGENT,
            channel_id=shown.args["channel"], message_ts=shown.args["ts"],
            response_url=running.slack.response_url(hook),
        )
    )
    assert status == 200


async def test_a_2500_message_thread_is_read_whole_despite_a_429_and_briefed_in_parts(
    running: RunningBot,
) -> None:
    thread = long_thread(2500)
    seed(running.slack, thread)
    running.slack.fail_next("conversations.replies", status=429, retry_after=1)

    status, _ = await running.post(shortcut(running, thread))
    assert status == 200

    shown = (await wait_for_brief(running))[-1]
    pages = -(-2500 // PAGE)
    replies = running.slack.calls_to("conversations.replies")
    assert len(replies) == pages + 1 and running.slack.ratelimited["conversations.replies"] == 1
    parts = [r for r in running.llm.requests if schema_name(r) == BRIEF_PART]
    combined = [r for r in running.llm.requests if schema_name(r) == BRIEF]
    assert len(parts) > 1 and len(combined) == 1, "parts + 1 calls"
    reached = sorted(ts for r in parts for ts in _ID.findall(user_text(r)))
    assert reached == sorted(m["ts"] for m in thread.messages), "every message, in one part"
    text = "\n".join(texts_in(shown.args["blocks"]))
    assert "From 2,500 messages read in" in text and "only you can see this" in text
    assert "https://fake.slack.test/archives/" in text, "items link their messages"
    assert running.slack.calls_to("chat.getPermalink") == [], "links are built, not fetched"
    assert not [c for c in running.slack.calls_to("chat.postMessage") if c.args["channel"] == SUPPORT]


async def test_progress_is_shown_in_the_note_at_most_every_two_seconds(
    slack: FakeSlack, database_url: str
) -> None:
    from tests.fakes.openai_api import FakeOpenAI

    async with FakeOpenAI(latency_s=1.0) as llm:
        running = await start_bot(
            bot_settings(slack, llm, database_url, TACTFUL_BRIEF_CONTEXT_TOKENS="4000",
                         TACTFUL_BRIEF_CONCURRENCY="1"), slack, llm)
        try:
            thread = long_thread(300)
            seed(slack, thread)
            await running.post(shortcut(running, thread))
            await wait_for_brief(running)
        finally:
            await stop_bot(running)
    dm = slack.workspace.direct_channel(AGENT)
    notes = [c for c in slack.calls_to("chat.update") if c.args.get("channel") == dm
             and "Reading 300 messages… part" in str(c.args.get("text"))]
    assert notes, "the asker saw which part is being read"
    assert len(notes) <= len(llm.requests) // 2 + 1, "no more than one update per two seconds"


async def test_asking_again_for_an_unchanged_thread_answers_from_the_store_unless_refreshed(
    running: RunningBot,
) -> None:
    thread = long_thread(40)
    seed(running.slack, thread)
    await running.post(shortcut(running, thread))
    first = (await wait_for_brief(running))[-1]
    calls = len(running.llm.requests)

    await running.post(shortcut(running, thread))
    again = (await wait_for_brief(running, 2))[-1]
    assert len(running.llm.requests) == calls, "no model call for an unchanged thread"
    assert "has not changed" in "\n".join(texts_in(again.args["blocks"]))

    await click(running, again, REFRESH, "refresh")
    await wait_for_brief(running, 3)
    assert len(running.llm.requests) == 2 * calls, "Refresh asks the model again"
    assert button(first, REFRESH) == button(again, REFRESH), "one stored brief per thread"


async def test_the_command_and_the_mention_ask_for_the_same_brief(running: RunningBot) -> None:
    thread = long_thread(30)
    seed(running.slack, thread)
    link = f"https://fake.slack.test/archives/{SUPPORT}/p{thread.root.replace('.', '')}"

    status, body = await running.post(
        slash_command_body("/tactful", f"summarize {link}", AGENT, SUPPORT,
                           response_url=running.slack.response_url("cmd"))
    )
    assert status == 200 and "direct messages" in json.loads(body)["text"]
    await wait_for_brief(running)

    mention_ts = f"{int(float(thread.messages[-1]['ts'])) + 60}.000001"
    running.slack.add_message(SUPPORT, mention_ts, "<@UBOT> summarize", user=AGENT, thread_ts=thread.root)
    event = message_event(SUPPORT, "<@UBOT> summarize", user=AGENT, ts=mention_ts,
                          thread_ts=thread.root, mention=True)
    await running.post(event_callback_body(event, event_id="EvBRIEFMENTION"))
    await wait_for_brief(running, 2)
    notes = [c for c in running.slack.calls_to("chat.postEphemeral") if c.args.get("user") == AGENT]
    assert "direct messages" in notes[0].args["text"]
    assert {schema_name(r) for r in running.llm.requests} == {BRIEF}


async def test_sharing_posts_in_an_internal_thread_or_the_review_channel_never_a_shared_one(
    running: RunningBot,
) -> None:
    shared, internal = long_thread(20, start=1_763_000_000), long_thread(20, start=1_763_500_000)
    seed(running.slack, shared, SUPPORT)
    seed(running.slack, internal, ESCALATIONS)
    await running.post(shortcut(running, shared))
    on_support = (await wait_for_brief(running))[-1]
    await running.post(shortcut(running, internal, channel=ESCALATIONS))
    on_internal = (await wait_for_brief(running, 2))[-1]

    await click(running, on_support, SHARE_IN_THREAD, "s1")
    refused = (await running.slack.wait_for("response_url", where=lambda c: c.args.get("hook") == "s1"))[0]
    assert "Slack Connect" in refused.args["text"]
    assert not [c for c in running.slack.calls_to("chat.postMessage") if c.args["channel"] == SUPPORT]

    await click(running, on_support, SEND_TO_REVIEW, "s2")
    await click(running, on_internal, SHARE_IN_THREAD, "s3")
    posted = await running.slack.wait_for(
        "chat.postMessage", count=2, where=lambda c: c.args["channel"] in (REVIEW, ESCALATIONS)
    )
    in_thread = [c for c in posted if c.args["channel"] == ESCALATIONS]
    assert in_thread[0].args["thread_ts"] == internal.root
    for call in posted:
        text = "\n".join(texts_in(call.args["blocks"]))
        assert f"shared by <@{AGENT}>" in text and "only you can see" not in text
        assert "actions" not in {b["type"] for b in call.args["blocks"]}


async def test_a_slack_connect_user_can_neither_ask_nor_see_a_brief(running: RunningBot) -> None:
    thread = long_thread(20)
    seed(running.slack, thread)

    status, _ = await running.post(shortcut(running, thread, user=OUTSIDER_LISTED))
    assert status == 200
    refused = await running.slack.wait_for("response_url")
    assert refused[0].args["text"] == NOT_AN_AGENT
    status, body = await running.post(
        slash_command_body("/tactful", f"summarize https://x.slack.com/archives/{SUPPORT}/p1",
                           OUTSIDER_LISTED, SUPPORT)
    )
    assert json.loads(body)["text"] == NOT_AN_AGENT
    assert running.llm.requests == []
    assert running.slack.calls_to("conversations.replies") == []
    assert running.slack.calls_to("chat.update") == []


async def test_a_huge_brief_is_split_into_messages_within_block_kit_limits(
    running: RunningBot,
) -> None:
    thread = long_thread(200)
    seed(running.slack, thread)

    def wordy(request: dict[str, Any]) -> dict[str, Any]:
        ids = message_ids(request)
        answer = brief_reply("double charge", ids)
        answer["timeline"] = [
            {"text": f"Event {n}: " + "the customer chased billing again " * 20, "refs": [ids[n % len(ids)]]}
            for n in range(150)
        ]
        answer["issue"] = "Charged twice. " * 400
        return answer

    running.llm.responder = wordy
    await running.post(shortcut(running, thread))
    shown = (await wait_for_brief(running))[-1]
    dm = shown.args["channel"]
    more = await running.slack.wait_for(
        "chat.postMessage", where=lambda c: c.args["channel"] == dm and "continued" in c.args["text"]
    )
    for call in [shown, *more]:
        blocks = call.args["blocks"]
        assert len(blocks) <= 50
        assert all(len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section")
    everything = "\n".join(t for call in [shown, *more] for t in texts_in(call.args["blocks"]))
    assert "Event 149:" in everything, "nothing is cut: the brief continues in more messages"
    assert button(more[-1], SHARE_IN_THREAD), "the buttons close the last message"


async def test_items_citing_messages_not_in_the_thread_are_left_out_and_counted(
    running: RunningBot,
) -> None:
    thread = long_thread(25)
    seed(running.slack, thread)

    def inventive(request: dict[str, Any]) -> dict[str, Any]:
        answer = brief_reply("double charge", message_ids(request))
        answer["declined"] = [
            {"text": "Refused a free year of service", "refs": ["1999999999.000001"]},
            {"text": "Refused the 20 USD credit", "refs": [thread.declines[0]]},
        ]
        return answer

    running.llm.responder = inventive
    await running.post(shortcut(running, thread))
    shown = "\n".join(texts_in((await wait_for_brief(running))[-1].args["blocks"]))

    assert "Refused the 20 USD credit" in shown and "free year" not in shown
    assert "1 item left out: they cited messages that are not in the thread" in shown


async def test_a_draft_in_a_long_thread_sees_its_newest_messages_not_the_first_page(
    running: RunningBot,
) -> None:
    thread = long_thread(1200)
    seed(running.slack, thread)
    last = thread.messages[-1]
    newest = f"{int(float(last['ts'])) + 30}.999001"
    running.slack.add_message(SUPPORT, newest, "Agent note: NEWEST-CONTEXT before the complaint",
                              user=AGENT, thread_ts=thread.root)

    ts, _ = await running.customer_says(
        "Still charged twice, I am cancelling.", thread_ts=thread.root,
        ts=f"{int(float(last['ts'])) + 60}.999002",
    )
    await running.card_for(ts)

    asked = [r for r in running.llm.requests if schema_name(r) == FIRST_DRAFT]
    sent = user_text(asked[0])
    assert "NEWEST-CONTEXT" in sent, "the newest messages before the complaint"
    assert "2 x 480 USD" not in sent, "not the thread's first page"
    assert len(running.slack.calls_to("conversations.replies")) >= 6, "every page was read"

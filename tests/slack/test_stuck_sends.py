"""A process that dies between winning the approve claim and posting leaves a 'sending' draft.

The upkeep sweep settles it without ever sending twice: if the reply is in
the thread (found by its message metadata) the draft is sent; otherwise it
goes back to pending and can be approved again.
"""

from __future__ import annotations

from app.slack.gateway import REPLY_EVENT_TYPE
from tests.slack.conftest import AGENT, SUPPORT, RunningBot


async def test_a_send_that_died_before_posting_becomes_approvable_again(running: RunningBot) -> None:
    ts, _ = await running.customer_says("The blender I bought last week stopped working. Very disappointed.")
    draft = await running.card_for(ts)
    assert await running.store.claim_for_send(draft_id=draft.id, user_id=AGENT, final_text=draft.text)

    desk = running.bot.desk
    assert desk is not None
    assert await desk.settle_sends(older_than_s=0) == 1

    again = await running.store.get_draft(draft_id=draft.id)
    assert again.status == "pending" and "nothing was sent" in again.error
    assert not [c for c in running.slack.calls_to("chat.postMessage") if c.args.get("channel") == SUPPORT]


async def test_a_send_that_died_after_posting_is_marked_sent_not_sent_twice(running: RunningBot) -> None:
    ts, _ = await running.customer_says("My invoice shows two charges for one month. Please fix this.")
    draft = await running.card_for(ts)
    assert await running.store.claim_for_send(draft_id=draft.id, user_id=AGENT, final_text=draft.text)
    desk = running.bot.desk
    assert desk is not None and running.bot.app is not None
    # The dead process had posted the reply before it died.
    posted = await running.bot.app.client.chat_postMessage(
        channel=SUPPORT, thread_ts=ts, text=draft.text,
        metadata={"event_type": REPLY_EVENT_TYPE, "event_payload": {"draft_id": draft.id}},
    )

    assert await desk.settle_sends(older_than_s=0) == 1

    settled = await running.store.get_draft(draft_id=draft.id)
    assert settled.status == "sent" and settled.sent_ts == posted["ts"]
    replies = [c for c in running.slack.calls_to("chat.postMessage") if c.args.get("channel") == SUPPORT]
    assert len(replies) == 1

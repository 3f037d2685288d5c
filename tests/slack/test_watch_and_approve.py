"""Stories of the everyday flow: a customer complains, an agent approves, the reply lands."""

from __future__ import annotations

from tests.fakes.signing import block_actions_body
from tests.slack.conftest import AGENT, CUSTOMER, REVIEW, SUPPORT, RunningBot


async def test_customer_complaint_gets_a_card_and_approval_sends_reply_in_thread(running: RunningBot) -> None:
    ts, status = await running.customer_says(
        "My order #4821 was supposed to arrive Friday for my son's birthday. It's Monday. "
        "Nobody answers the phone. Call me on +44 20 7946 0958."
    )
    assert status == 200

    draft = await running.card_for(ts)
    cards = [c for c in running.slack.calls_to("chat.postMessage") if c.args["channel"] == REVIEW]
    assert len(cards) == 1, "exactly one card goes to the review channel"
    assert not [c for c in running.slack.calls_to("chat.postMessage") if c.args["channel"] == SUPPORT]
    # the PII never left for the LLM
    sent_to_llm = str(running.llm.requests)
    assert "7946 0958" not in sent_to_llm and "[phone]" in sent_to_llm

    status, _ = await running.post(
        block_actions_body(
            action_id="approve_send", value=str(draft.id), user_id=AGENT,
            channel_id=REVIEW, message_ts=draft.card_ts,
        )
    )
    assert status == 200
    reply = await running.slack.wait_for(
        "chat.postMessage", where=lambda c: c.args.get("channel") == SUPPORT and c.ok
    )
    assert reply[0].args["thread_ts"] == ts
    assert reply[0].args["text"] == draft.text
    sent = await running.card_for(ts, status="sent")
    assert sent.decided_by == AGENT
    assert CUSTOMER  # the customer wrote it; the reply went to their thread

"""Stories of the everyday flow: a customer complains, an agent approves, the reply lands."""

from __future__ import annotations

from app.domain.approval import fingerprint
from tests.fakes.signing import block_actions_body
from tests.slack.conftest import AGENT, CUSTOMER, REVIEW, SUPPORT, RunningBot, wait_until


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


def approve_value_on_card(running: RunningBot, card_ts: str) -> str | None:
    """The value of the Approve button on the latest drawing of the card, if it has one."""
    drawings = [
        c for c in running.slack.calls if c.method in ("chat.postMessage", "chat.update")
        and c.ok and (c.response.get("ts") == card_ts or c.args.get("ts") == card_ts)
    ]
    for block in drawings[-1].args["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == "approve_send":
                return str(element["value"])
    return None


async def test_approving_a_card_whose_draft_changed_since_sends_nothing(running: RunningBot) -> None:
    ts, _ = await running.customer_says("The hotel cancelled my booking the night before. I had to sleep in my car.")
    draft = await running.card_for(ts)
    shown = await wait_until(lambda: approve_value_on_card(running, draft.card_ts))
    assert shown.startswith(f"{draft.id}:")
    # Another agent edits the draft after this card was drawn for our agent.
    await running.store.record_edit(draft_id=draft.id, user_id=AGENT, new_text=draft.text + " Edited.")

    await running.post(
        block_actions_body(action_id="approve_send", value=shown, user_id=AGENT,
                           channel_id=REVIEW, message_ts=draft.card_ts)
    )
    note = await running.slack.wait_for("chat.postEphemeral", where=lambda c: c.args.get("user") == AGENT)
    assert "changed after you saw it" in note[0].args["text"]
    assert not [c for c in running.slack.calls_to("chat.postMessage") if c.args.get("channel") == SUPPORT]

    fresh = f"{draft.id}:{fingerprint(draft.text + ' Edited.')}"
    await running.post(
        block_actions_body(action_id="approve_send", value=fresh, user_id=AGENT,
                           channel_id=REVIEW, message_ts=draft.card_ts)
    )
    reply = await running.slack.wait_for("chat.postMessage", where=lambda c: c.args.get("channel") == SUPPORT)
    assert reply[0].args["text"].endswith("Edited.")


async def test_a_model_written_link_reaches_the_customer_as_the_literal_text_the_card_shows(
    running: RunningBot,
) -> None:
    from tests.fakes.openai_replies import FIRST_DRAFT, default_reply, schema_name

    def sneaky(request: dict) -> dict | str:  # type: ignore[type-arg]
        answer = default_reply(request)
        if schema_name(request) != FIRST_DRAFT or not isinstance(answer, dict):
            return answer
        answer["reply"] += " <https://evil.example/claim|Claim your refund> <!channel>"
        return answer

    running.llm.responder = sneaky
    ts, _ = await running.customer_says("My parcel never came and I want my money back.")
    draft = await running.card_for(ts)
    from tests.slack.flows import card_text, wait_for_card

    card = await wait_for_card(running, draft, lambda m: "evil.example" in card_text(m))
    shown = str(card["blocks"])
    assert "unknown_link" in str(draft.flags)
    # An unknown link blocks Approve until an agent vouches for the text.
    assert await running.store.override_blocks(draft_id=draft.id, user_id=AGENT, reason="test")

    await running.post(
        block_actions_body(
            action_id="approve_send", value=str(draft.id), user_id=AGENT,
            channel_id=REVIEW, message_ts=draft.card_ts,
        )
    )
    reply = await running.slack.wait_for(
        "chat.postMessage", where=lambda c: c.args.get("channel") == SUPPORT and c.ok
    )
    sent = reply[0].args["text"]
    assert "<https://" not in sent and "&lt;https://evil.example/claim|Claim your refund&gt;" in sent
    assert "<!channel>" not in sent
    assert "&lt;https://evil.example/claim|Claim your refund&gt;" in shown, "as the card showed it"


async def test_app_home_shows_figures_to_agents_only(running: RunningBot) -> None:
    from tests.fakes.signing import event_callback_body
    from tests.slack.conftest import COLLEAGUE

    for user, event_id in ((AGENT, "EvHOME1"), (COLLEAGUE, "EvHOME2")):
        event = {"type": "app_home_opened", "user": user, "tab": "home", "channel": "D0HOME"}
        status, _ = await running.post(event_callback_body(event, event_id=event_id))
        assert status == 200

    await wait_until(lambda: len(running.slack.workspace.home_tabs) == 2)
    homes = running.slack.workspace.home_tabs
    assert "Acceptance rate" in str(homes[AGENT]["blocks"])
    assert "Acceptance rate" not in str(homes[COLLEAGUE]["blocks"])
    assert "support agents only" in str(homes[COLLEAGUE]["blocks"])

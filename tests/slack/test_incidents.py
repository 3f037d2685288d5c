"""Stories of complaint bursts: the same problem from many customers becomes one incident card.

Everything runs through the real bot: signed Slack events and clicks over
HTTP, the fake Slack recording what was posted, the fake OpenAI serving
drafts and embeddings (``TACTFUL_EMBEDDING_MODEL`` set, so the embeddings
endpoint is the one used).  The complaints are our own, in
``tests/fixtures/incidents/burst.yaml``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest
import yaml

from tests.fakes.openai_api import FIRST_DRAFT, FakeOpenAI, schema_name
from tests.fakes.signing import (
    SIGNING_SECRET,
    block_actions_body,
    event_callback_body,
    sign,
    slash_command_body,
)
from tests.fakes.slack_api import FakeSlack
from tests.slack.conftest import (
    AGENT,
    CUSTOMER_TEAM,
    REVIEW,
    SUPPORT,
    RunningBot,
    all_jobs_done,
    bot_settings,
    cards_posted,
    replies_to_customers,
    start_bot,
    stop_bot,
    wait_until,
)
from tests.slack.flows import card_text, user_texts

FIXTURES = yaml.safe_load(
    (Path(__file__).parents[1] / "fixtures" / "incidents" / "burst.yaml").read_text()
)
PROBLEMS: dict[str, list[str]] = FIXTURES["problems"]
UNRELATED: list[str] = FIXTURES["unrelated"]
LEASE_S = 1.0

Message = dict[str, Any]


def incident_settings(slack: FakeSlack, llm: FakeOpenAI, database_url: str, **extra: Any) -> Any:
    return bot_settings(
        slack, llm, database_url, TACTFUL_INCIDENT_MIN_SIZE="3",
        TACTFUL_EMBEDDING_MODEL="fake-embed", **extra,
    )


@pytest.fixture
async def grouping(slack: FakeSlack, llm: FakeOpenAI, database_url: str) -> AsyncIterator[RunningBot]:
    # The model takes a moment, as real ones do: a burst arrives while the first drafts are written.
    llm.latency_s = 0.3
    bot = await start_bot(incident_settings(slack, llm, database_url), slack, llm)
    try:
        yield bot
    finally:
        await stop_bot(bot)


async def complain(running: RunningBot, texts: list[str], *, prefix: str) -> list[str]:
    """Each text from another customer, each starting its own thread; returns their ts."""
    stamps = []
    for number, text in enumerate(texts):
        ts, status = await running.customer_says(
            text, user=f"U{prefix}{number:03d}", user_team=CUSTOMER_TEAM
        )
        assert status == 200
        stamps.append(ts)
    return stamps


def incident_messages(slack: FakeSlack) -> list[Message]:
    return [m for m in slack.messages[REVIEW] if str(m.get("text", "")).startswith("Incident #")]


def actions_of(message: Message) -> dict[str, dict[str, Any]]:
    return {
        element["action_id"]: {**element, "block_id": block["block_id"]}
        for block in message.get("blocks") or [] if block.get("type") == "actions"
        for element in block["elements"]
    }


async def incident_card_with(running: RunningBot, customers: int, *, ts: str = "") -> Message:
    """Wait for an incident card (at ``ts`` when given) naming ``customers`` and offering Approve."""

    def probe() -> Message | None:
        for message in incident_messages(running.slack):
            if ts and message["ts"] != ts:
                continue
            if f"*{customers} customers*" in card_text(message) and (
                "incident_approve_all" in actions_of(message)
            ):
                return message
        return None

    return await wait_until(probe, timeout=15)  # type: ignore[no-any-return]


async def press(running: RunningBot, message: Message, action_id: str, **choice: Any) -> None:
    """An agent uses a control of the incident card (button, select or multi-select)."""
    element = actions_of(message)[action_id]
    body, _ = block_actions_body(
        action_id=action_id, value=element.get("value"), block_id=element["block_id"],
        user_id=AGENT, channel_id=REVIEW, message_ts=message["ts"], message=message,
    )
    payload = json.loads(parse_qs(body.decode())["payload"][0])
    action = payload["actions"][0]
    if "picked" in choice:
        action.pop("value", None)
        action.update(type="multi_static_select", selected_options=[
            {"text": {"type": "plain_text", "text": v}, "value": v} for v in choice["picked"]
        ])
    if "selected" in choice:
        action.pop("value", None)
        action.update(type="static_select", selected_option={
            "text": {"type": "plain_text", "text": choice["selected"]}, "value": choice["selected"]
        })
    raw = urlencode({"payload": json.dumps(payload)})
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(raw, SIGNING_SECRET)}
    status, _ = await running.post((raw.encode(), headers))
    assert status == 200


def replies_by_thread(slack: FakeSlack) -> dict[str, list[str]]:
    threads: dict[str, list[str]] = {}
    for call in replies_to_customers(slack):
        threads.setdefault(str(call.args["thread_ts"]), []).append(str(call.args["text"]))
    return threads


def first_drafts(llm: FakeOpenAI) -> list[dict[str, Any]]:
    return [r for r in llm.requests if schema_name(r) == FIRST_DRAFT]


async def test_a_burst_in_different_words_becomes_one_card_and_unrelated_complaints_stay_apart(
    grouping: RunningBot,
) -> None:
    burst = PROBLEMS["carrier_north"]
    stamps = await complain(grouping, burst[:2], prefix="B")
    others = await complain(grouping, UNRELATED[:3], prefix="X")
    stamps += await complain(grouping, burst[2:], prefix="C")

    card = await incident_card_with(grouping, len(burst))
    await wait_until(lambda: all_jobs_done(grouping), timeout=15)

    shown = card_text(card)
    assert "Incident #" in shown and f"<#{SUPPORT}>" in shown
    assert "#48213" in shown and "#48302" in shown, "each customer's order is on the card"
    assert len(incident_messages(grouping.slack)) == 1
    live_cards = [m for m in grouping.slack.messages[REVIEW] if "approve_send" in actions_of(m)]
    assert len(live_cards) == len(others), "each unrelated complaint keeps its own card"
    assert all("Incident" not in card_text(m) for m in live_cards)
    # One shared draft, not one per customer: at most the two drafted before the burst showed.
    assert len(first_drafts(grouping.llm)) <= len(others) + 3
    # Only redacted text was embedded, and every customer message was.
    embedded = [t for r in grouping.llm.embedding_requests for t in r["input"]]
    assert len(embedded) == len(burst) + len(others)


async def test_approve_for_all_sends_each_customer_their_own_reply_once(grouping: RunningBot) -> None:
    burst = PROBLEMS["double_charge"]
    stamps = await complain(grouping, burst, prefix="D")
    # The card as the agent saw it: the fake Slack updates its messages in place.
    card = copy.deepcopy(await incident_card_with(grouping, len(burst)))

    await press(grouping, card, "incident_approve_all")
    await press(grouping, card, "incident_approve_all")  # a double click sends nothing twice
    await wait_until(lambda: len(replies_to_customers(grouping.slack)) >= len(burst), timeout=15)
    await wait_until(lambda: all_jobs_done(grouping), timeout=15)
    await wait_until(lambda: any(
        f"*Sent* to {len(burst)} customers" in card_text(m) for m in incident_messages(grouping.slack)
    ))

    threads = replies_by_thread(grouping.slack)
    assert sorted(threads) == sorted(stamps), "each reply went to its customer's own thread"
    assert all(len(texts) == 1 for texts in threads.values()), threads
    assert all(texts[0].startswith("Hi, thank you for telling us") for texts in threads.values())
    refused = [m for m in grouping.slack.ephemerals if m["user"] == AGENT]
    assert any("already" in str(m.get("text")) for m in refused)

    # Managers see it in App Home.
    event = {"type": "app_home_opened", "user": AGENT, "tab": "home", "channel": "D0HOME"}
    await grouping.post(event_callback_body(event, event_id="EvHOMEINC"))
    home = await wait_until(lambda: grouping.slack.workspace.home_tabs.get(AGENT))
    assert f"*Incidents* 1 ({len(burst)} complaints on incident cards" in str(home["blocks"])


async def test_approve_for_all_finishes_after_a_restart_without_sending_twice(
    slack: FakeSlack, llm: FakeOpenAI, database_url: str
) -> None:
    settings = incident_settings(slack, llm, database_url, TACTFUL_JOB_LEASE_SECONDS=LEASE_S)
    burst = PROBLEMS["carrier_north"]
    llm.latency_s = 0.3
    doomed = await start_bot(settings, slack, llm)
    try:
        stamps = await complain(doomed, burst, prefix="R")
        card = await incident_card_with(doomed, len(burst))
        slack.latency_s = 0.25  # Slack is slow today: the fan-out takes a while
        await press(doomed, card, "incident_approve_all")
        await wait_until(lambda: len(replies_to_customers(slack)) >= 1, timeout=15)
    finally:
        await stop_bot(doomed)  # the process dies in the middle of the fan-out
    assert len(replies_to_customers(slack)) < len(burst), "stopped part way"

    slack.latency_s = 0.0
    after = await start_bot(settings, slack, llm)
    try:
        await wait_until(lambda: len(replies_to_customers(slack)) >= len(burst), timeout=20)
        await wait_until(lambda: all_jobs_done(after), timeout=20)
    finally:
        await stop_bot(after)
    threads = replies_by_thread(slack)
    assert sorted(threads) == sorted(stamps)
    assert all(len(texts) == 1 for texts in threads.values()), threads


async def test_pulling_out_and_merging(grouping: RunningBot) -> None:
    carrier = await complain(grouping, PROBLEMS["carrier_north"][:4], prefix="P")
    first = await incident_card_with(grouping, 4)
    await complain(grouping, PROBLEMS["double_charge"][:3], prefix="Q")
    second = await incident_card_with(grouping, 3)
    await wait_until(lambda: all_jobs_done(grouping), timeout=15)

    # Pull one customer out: their complaint gets a card of its own.
    pulled = await grouping.store.find_complaint(
        channel_id=SUPPORT, message_ts=carrier[0], source="watch"
    )
    first = next(m for m in incident_messages(grouping.slack) if m["ts"] == first["ts"])
    await press(grouping, first, "incident_pull_out", picked=[str(pulled.id)])
    single = await grouping.card_for(carrier[0])
    assert single.card_ts and single.card_ts not in {first["ts"], second["ts"]}
    first = await incident_card_with(grouping, 3, ts=first["ts"])

    # Merge the second incident into the first: one card for all, the other retired.
    second = next(m for m in incident_messages(grouping.slack) if m["ts"] == second["ts"])
    into = str(actions_of(first)["incident_approve_all"]["value"]).split(":")[0]
    await press(grouping, second, "incident_merge", selected=into)
    merged = await incident_card_with(grouping, 6, ts=first["ts"])
    assert merged["ts"] == first["ts"]
    retired = await wait_until(lambda: next(
        (m for m in grouping.slack.messages[REVIEW]
         if m["ts"] == second["ts"] and "Merged into" in str(m.get("text"))), None))
    assert not actions_of(retired)


async def test_a_declared_incident_reaches_the_drafts_of_matching_complaints(
    grouping: RunningBot,
) -> None:
    description = "Carrier outage at the north depot: parcels stuck, delivery ETA Thursday."
    status, _ = await grouping.post(slash_command_body(
        "/tactful", f"incident {description}", AGENT, REVIEW,
        response_url=grouping.slack.response_url("declare"),
    ))
    assert status == 200
    declared = await wait_until(lambda: incident_messages(grouping.slack), timeout=10)
    assert "Carrier outage at the north depot" in card_text(declared[0])

    await complain(grouping, PROBLEMS["carrier_north"][:2], prefix="E")
    await complain(grouping, UNRELATED[:1], prefix="F")
    await incident_card_with(grouping, 2)
    await wait_until(lambda: all_jobs_done(grouping), timeout=15)

    with_note = [r for r in first_drafts(grouping.llm)
                 if any("ETA Thursday" in t for t in user_texts(r))]
    assert len(with_note) == 1, "the incident's one shared draft used the agents' description"
    assert any("invent no other ETA" in t for t in user_texts(with_note[0]))
    system = [str(m["content"]) for m in with_note[0]["messages"] if m["role"] == "system"]
    assert all("ETA Thursday" not in text for text in system), "agents' text stays in user role"
    assert any("invent no other" in text for text in system), "the prompt forbids another ETA"
    unrelated = [r for r in first_drafts(grouping.llm) if r is not with_note[0]]
    assert all("ETA Thursday" not in json.dumps(r) for r in unrelated)
    assert len(cards_posted(grouping.slack)) == 2, "the incident card and the unrelated one"


async def test_describing_an_incident_from_its_card_reaches_the_next_shared_draft(
    grouping: RunningBot,
) -> None:
    from tests.slack.flows import opened_view, submit

    await complain(grouping, PROBLEMS["carrier_north"][:4], prefix="G")
    card = await incident_card_with(grouping, 4)
    await wait_until(lambda: all_jobs_done(grouping), timeout=15)

    await press(grouping, card, "incident_describe")
    view = await opened_view(grouping.slack, "incident_describe_view")
    note = "Carrier outage at the north depot, parcels move again on Thursday."
    status, answer = await submit(grouping, view, {"description": {"text": {
        "type": "plain_text_input", "value": note}}})
    assert status == 200 and not answer.get("errors")
    described = await wait_until(lambda: next((
        m for m in incident_messages(grouping.slack)
        if m["ts"] == card["ts"] and "parcels move again on Thursday" in card_text(m)), None))
    assert "Agents' note" in card_text(described)
    assert not any(note in t for r in first_drafts(grouping.llm) for t in user_texts(r))

    # The lead is pulled out: another member drafts the shared reply, now with the note.
    incident_id = int(str(actions_of(described)["incident_approve_all"]["value"]).split(":")[0])
    incident = await grouping.store.get_incident(incident_id=incident_id)
    await press(grouping, described, "incident_pull_out", picked=[str(incident.lead_complaint_id)])
    await wait_until(lambda: any(
        note in t for r in first_drafts(grouping.llm) for t in user_texts(r)), timeout=15)
    await incident_card_with(grouping, 3, ts=card["ts"])


async def test_with_grouping_off_a_burst_keeps_one_card_per_complaint(running: RunningBot) -> None:
    burst = PROBLEMS["double_charge"][:3]
    stamps = await complain(running, burst, prefix="H")
    for ts in stamps:
        await running.card_for(ts)
    assert not incident_messages(running.slack) and not running.llm.embedding_requests
    status, answer = await running.post(slash_command_body(
        "/tactful", "incident billing run charged twice", AGENT, REVIEW,
        response_url=running.slack.response_url("off"),
    ))
    assert status == 200 and "TACTFUL_INCIDENT_MIN_SIZE" in answer, "the agent is told how"
    assert not incident_messages(running.slack)

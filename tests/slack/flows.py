"""What the agent-flow stories share: reading cards back from the fake Slack, clicking, submitting.

Everything goes over real HTTP: clicks and modal submissions are signed
``block_actions`` / ``view_submission`` payloads posted to the running bot;
cards are read back from the messages the fake Slack keeps, and the audit
trail from the store.  Nothing here patches the bot.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode

from prometheus_client.parser import text_string_to_metric_families

from app.store import Draft
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.signing import (
    SIGNING_SECRET,
    block_actions_body,
    sign,
    view_submission_body,
)
from tests.fakes.slack_api import FakeSlack, SlackCall
from tests.slack.conftest import AGENT, REVIEW, RunningBot, wait_until

Message = dict[str, Any]
Signed = tuple[bytes, dict[str, str]]

# Every Slack method whose text reaches a human.
POSTING_METHODS = ("chat.postMessage", "chat.update", "chat.postEphemeral", "response_url")
_BROADCAST = re.compile(r"<!(here|channel|everyone)\b|(?<![\w@.])@(here|channel|everyone)\b", re.I)


# --- reading what the bot posted ------------------------------------------------


def card_message(slack: FakeSlack, draft: Draft) -> Message:
    """The card of ``draft`` as it stands now, in the review channel or the asker's DM."""
    channel = draft.card_channel or REVIEW
    for message in slack.messages[channel]:
        if message["ts"] == draft.card_ts:
            return message
    raise AssertionError(f"no card at ts {draft.card_ts} in {channel}")


def texts_in(value: Any) -> Iterator[str]:
    """Every string under a ``text`` key (or a list of fields), however deep, in order."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "text" and isinstance(item, str):
                yield item
            else:
                yield from texts_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from texts_in(item)


def card_text(message: Message) -> str:
    return "\n".join(texts_in(message.get("blocks") or []))


def blocks_of_type(message: Message, kind: str) -> list[dict[str, Any]]:
    return [b for b in message.get("blocks") or [] if b.get("type") == kind]


def action_ids(message: Message) -> set[str]:
    return {
        element["action_id"]
        for block in blocks_of_type(message, "actions")
        for element in block["elements"]
    }


def offer_fields(message: Message) -> list[str]:
    """The texts of the side-by-side offer fields on a card."""
    return [
        field["text"]
        for block in blocks_of_type(message, "section")
        for field in block.get("fields") or []
    ]


def card_calls(slack: FakeSlack) -> list[SlackCall]:
    """Card posts and updates in the review channel, in order."""
    return [
        c
        for c in slack.calls
        if c.method in ("chat.postMessage", "chat.update") and c.args.get("channel") == REVIEW
    ]


def everything_posted(slack: FakeSlack) -> list[str]:
    """Every text and block text the bot sent for people to read."""
    out: list[str] = []
    for call in slack.calls:
        if call.method in POSTING_METHODS:
            out.append(str(call.args.get("text") or ""))
            out.extend(texts_in(call.args.get("blocks") or []))
    return out


def broadcasts(texts: list[str]) -> list[str]:
    """The live ``@here`` / ``<!channel>`` style mentions left in ``texts``."""
    return [m.group(0) for text in texts for m in _BROADCAST.finditer(text)]


# --- waiting --------------------------------------------------------------------


async def draft_now(running: RunningBot, draft_id: int) -> Draft:
    draft = await running.store.get_draft(draft_id=draft_id)
    assert draft is not None
    return draft  # type: ignore[no-any-return]


async def wait_for_draft(
    running: RunningBot, draft_id: int, check: Callable[[Draft], bool], *, timeout: float = 10.0
) -> Draft:
    async def probe() -> Draft | None:
        draft = await draft_now(running, draft_id)
        return draft if check(draft) else None

    return await wait_until(probe, timeout=timeout)  # type: ignore[no-any-return]


async def wait_for_card(
    running: RunningBot, draft: Draft, check: Callable[[Message], bool], *, timeout: float = 10.0
) -> Message:
    """Wait until the card of ``draft`` (same message, same ts) satisfies ``check``."""

    async def probe() -> Message | None:
        message = card_message(running.slack, draft)
        return message if check(message) else None

    return await wait_until(probe, timeout=timeout)  # type: ignore[no-any-return]


async def card_ready(running: RunningBot, message_ts: str, *, status: str = "pending") -> Draft:
    """Wait until the message's draft reaches ``status`` AND its card in Slack shows it.

    The store changes a moment before the card is updated; a story that reads
    or clicks the card needs the card itself to be up to date.
    """
    draft = await running.card_for(message_ts, status=status)
    if status == "pending":
        await wait_for_card(running, draft, lambda m: "approve_send" in action_ids(m))
    return draft


async def request_draft_of(
    running: RunningBot, *, channel: str, message_ts: str, source: str, status: str = "pending"
) -> Draft:
    """Wait for the draft of a complaint that came from ``source`` to reach ``status`` with a card."""

    async def probe() -> Draft | None:
        complaint = await running.store.find_complaint(
            channel_id=channel, message_ts=message_ts, source=source
        )
        if complaint is None:
            return None
        draft = await running.store.latest_draft(complaint_id=complaint.id)
        if draft is not None and draft.status == status and draft.card_ts:
            return draft  # type: ignore[no-any-return]
        return None

    return await wait_until(probe)  # type: ignore[no-any-return]


# --- acting on cards --------------------------------------------------------------


async def click(
    running: RunningBot,
    draft: Draft,
    action_id: str,
    *,
    user: str = AGENT,
    with_value: bool = True,
    selected_option: str | None = None,
) -> tuple[int, str]:
    """An agent presses a button (or picks a menu option) on the card of ``draft``."""
    return await running.post(
        block_actions_body(
            action_id=action_id,
            value=str(draft.id) if with_value else None,
            block_id=f"card_{draft.id}",
            selected_option=selected_option,
            user_id=user,
            channel_id=REVIEW,
            message_ts=str(draft.card_ts),
            message=card_message(running.slack, draft),
            response_url=running.slack.response_url(f"click-{draft.id}"),
        )
    )


async def pick_offers(
    running: RunningBot, draft: Draft, offer_ids: list[str], *, user: str = AGENT
) -> tuple[int, str]:
    """An agent picks offers in the card's multi-select (``offers_<id>`` block)."""
    body, _ = block_actions_body(
        action_id="choose_offers",
        block_id=f"offers_{draft.id}",
        user_id=user,
        channel_id=REVIEW,
        message_ts=str(draft.card_ts),
        message=card_message(running.slack, draft),
    )
    payload = json.loads(parse_qs(body.decode())["payload"][0])
    action = payload["actions"][0]
    action.pop("value", None)
    action.pop("text", None)
    action.update(
        type="multi_static_select",
        selected_options=[
            {"text": {"type": "plain_text", "text": offer_id}, "value": offer_id}
            for offer_id in offer_ids
        ],
    )
    return await running.post(_signed_form(payload))


def _signed_form(payload: dict[str, Any]) -> Signed:
    raw = urlencode({"payload": json.dumps(payload)})
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(raw, SIGNING_SECRET)}
    return raw.encode(), headers


async def opened_view(slack: FakeSlack, callback_id: str) -> dict[str, Any]:
    """The modal the bot opened (views.open accepted by Slack) with ``callback_id``."""
    calls = await slack.wait_for(
        "views.open", where=lambda c: c.ok and c.args["view"].get("callback_id") == callback_id
    )
    view: dict[str, Any] = calls[-1].response["view"]
    return view


async def submit(
    running: RunningBot, view: dict[str, Any], values: dict[str, Any], *, user: str = AGENT
) -> tuple[int, dict[str, Any]]:
    """The agent presses the modal's submit button; returns the bot's answer (parsed)."""
    status, text = await running.post(view_submission_body(view, user_id=user, values=values))
    return status, (json.loads(text) if text.strip() else {})


def selected(block_id: str, action_id: str, values: list[str], *, kind: str) -> dict[str, Any]:
    """``state.values`` of a select element: radio buttons (one value) or a multi-select."""
    options = [{"text": {"type": "plain_text", "text": v}, "value": v} for v in values]
    state: dict[str, Any] = {"type": kind}
    if kind == "multi_static_select":
        state["selected_options"] = options
    else:
        state["selected_option"] = options[0] if options else None
    return {block_id: {action_id: state}}


# --- the LLM side -----------------------------------------------------------------


def llm_back(llm: FakeOpenAI) -> None:
    """End an outage begun with ``fail_next(..., times=many)``: the unused failures are dropped."""
    llm.recover()


def user_texts(request: dict[str, Any]) -> list[str]:
    return [str(m["content"]) for m in request["messages"] if m["role"] == "user"]


def non_user_texts(request: dict[str, Any]) -> list[str]:
    return [str(m["content"]) for m in request["messages"] if m["role"] != "user"]


# --- metrics ----------------------------------------------------------------------


async def metric(running: RunningBot, sample: str, **labels: str) -> float:
    """The current value of one sample of GET /metrics (0 when absent)."""
    async with running.session.get(f"{running.url}/metrics") as response:
        assert response.status == 200
        page = await response.text()
    for family in text_string_to_metric_families(page):
        for found in family.samples:
            if found.name == sample and all(found.labels.get(k) == v for k, v in labels.items()):
                return float(found.value)
    return 0.0

"""Finding our own earlier reply works in threads of any length, and only our bot's posts count."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from app.slack.agents import AgentDirectory
from app.slack.gateway import REPLY_EVENT_TYPE, SlackGateway
from tests.fakes.slack_api import FakeSlack

CHANNEL = "C0SUPPORT"
ROOT = "1764000000.000000"
CLAIMED = datetime.fromtimestamp(1764000000, UTC)


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as slack:
        yield slack


def gateway(fake: FakeSlack) -> SlackGateway:
    client = AsyncWebClient(token=fake.token, base_url=fake.url)

    def no_playbook() -> None:
        raise AssertionError("finding a reply needs no playbook")

    return SlackGateway(client, AgentDirectory(client, []), review_channel="C0REVIEW",
                        playbook=no_playbook,  # type: ignore[arg-type]
                        bot_user_id=fake.bot_user_id, bot_id=fake.bot_id)


def _reply_metadata(draft_id: int) -> dict[str, object]:
    return {"event_type": REPLY_EVENT_TYPE, "event_payload": {"draft_id": draft_id}}


async def test_our_reply_after_1500_customer_messages_is_found(fake: FakeSlack) -> None:
    fake.add_message(CHANNEL, ROOT, "My order never came.", user="U_CUSTOMER")
    for n in range(1, 1501):
        fake.add_message(CHANNEL, f"1764000001.{n:06d}", f"still waiting {n}",
                         user="U_CUSTOMER", thread_ts=ROOT)
    found = gateway(fake)
    posted = await found._client.chat_postMessage(
        channel=CHANNEL, thread_ts=ROOT, text="So sorry, Dana.", metadata=_reply_metadata(7))

    assert await found.find_reply(channel=CHANNEL, thread_ts=ROOT, draft_id=7,
                                  since=CLAIMED) == posted["ts"]
    assert await found.find_reply(channel=CHANNEL, thread_ts=ROOT, draft_id=8,
                                  since=CLAIMED) is None
    pages = fake.calls_to("conversations.replies")
    assert len(pages) >= 2 * 8, "every page of a long thread was read, twice"
    # From a minute before the claim: Slack's clock and ours may differ a little.
    assert {call.args.get("oldest") for call in pages} == {"1763999940.000000"}


async def test_a_customer_message_carrying_our_metadata_is_not_taken_for_our_reply(
    fake: FakeSlack,
) -> None:
    fake.add_message(CHANNEL, ROOT, "My order never came.", user="U_CUSTOMER")
    forged = fake.workspace.add_message(CHANNEL, "1764000001.000100", "Fake", user="U_CUSTOMER",
                                        thread_ts=ROOT)
    forged["metadata"] = _reply_metadata(7)

    assert await gateway(fake).find_reply(channel=CHANNEL, thread_ts=ROOT, draft_id=7,
                                          since=CLAIMED) is None

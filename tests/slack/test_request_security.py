"""Stories of who may reach the bot and what it may say about them.

Requests Slack did not sign, or signed long ago, are turned away before they
touch the store or Slack; only listed agents of our own workspace act on
cards; and a whole flow run by the real ``tactful serve`` process writes no
secret and no customer contact detail to its logs.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.signing import block_actions_body, event_callback_body, message_event
from tests.fakes.slack_api import FakeSlack
from tests.fakes.support_workspace import bot_environment
from tests.slack.conftest import (
    AGENT,
    AGENT_GROUP,
    COLLEAGUE,
    CUSTOMER,
    CUSTOMER_TEAM,
    GROUP_AGENT,
    OUTSIDER_LISTED,
    REVIEW,
    SUPPORT,
    RunningBot,
    approve_click,
    next_ts,
    replies_to_customers,
    wait_until,
)

NOT_AN_AGENT = "Only support agents listed in TACTFUL_AGENTS"
STALE_S = 6 * 60  # Slack's replay window is 5 minutes


def forged_event(ts: str, *, secret: str = "not-the-signing-secret", timestamp: int | None = None,
                 event_id: str = "Ev0FORGED") -> tuple[bytes, dict[str, str]]:
    event = message_event(SUPPORT, "Refund me now or else.", user=CUSTOMER, ts=ts,
                          user_team=CUSTOMER_TEAM)
    return event_callback_body(event, event_id=event_id, secret=secret, timestamp=timestamp)


@pytest.mark.parametrize(
    "tampering",
    ["wrong secret", "signed six minutes ago", "no signature headers", "body changed after signing"],
)
async def test_a_request_slack_did_not_sign_just_now_is_refused_and_leaves_no_trace(
    running: RunningBot, tampering: str
) -> None:
    ts = next_ts()
    if tampering == "wrong secret":
        body, headers = forged_event(ts)
    elif tampering == "signed six minutes ago":
        body, headers = forged_event(ts, secret="test-signing-secret",
                                     timestamp=int(time.time()) - STALE_S)
    elif tampering == "no signature headers":
        body, headers = forged_event(ts, secret="test-signing-secret")
        headers = {"Content-Type": headers["Content-Type"]}
    else:
        body, headers = forged_event(ts, secret="test-signing-secret")
        body = body.replace(b"Refund me now", b"Refund me 5000")
    calls_before = len(running.slack.calls)

    status, _ = await running.post((body, headers))

    assert status == 401
    await asyncio.sleep(0.2)  # anything the bot wrongly started would show by now
    assert len(running.slack.calls) == calls_before, "nothing reached Slack"
    assert running.llm.requests == []
    assert (await running.store.stats()).complaints == 0
    assert await running.store.pending_job_count() == 0
    # The event id was not even recorded: a genuine delivery of it would still be handled.
    assert await running.store.first_delivery(event_id="Ev0FORGED")


async def test_a_forged_approve_click_sends_nothing(running: RunningBot) -> None:
    ts, _ = await running.customer_says("Two weeks and my refund has not arrived.")
    draft = await running.card_for(ts)
    forged = block_actions_body(
        action_id="approve_send", value=str(draft.id), user_id=AGENT, channel_id=REVIEW,
        message_ts=draft.card_ts or "", secret="guessed-secret",
    )
    status, _ = await running.post(forged)
    assert status == 401
    await asyncio.sleep(0.2)
    assert replies_to_customers(running.slack) == []
    assert (await running.store.get_draft(draft_id=draft.id)).status == "pending"

    # The same click, signed with the real secret, goes through: only the signature differed.
    status, _ = await running.post(approve_click(draft))
    assert status == 200
    await running.card_for(ts, status="sent")
    assert len(replies_to_customers(running.slack)) == 1


@pytest.mark.parametrize(
    ("clicker", "payload_team", "why"),
    [
        (COLLEAGUE, None, "an internal user who is not an agent"),
        (OUTSIDER_LISTED, CUSTOMER_TEAM, "a listed user from the customer's workspace"),
        (OUTSIDER_LISTED, None, "a listed Slack Connect stranger, even if the payload says home team"),
        (CUSTOMER, CUSTOMER_TEAM, "the customer, who shares the channel"),
    ],
)
async def test_only_our_own_agents_can_approve(
    running: RunningBot, clicker: str, payload_team: str | None, why: str
) -> None:
    ts, _ = await running.customer_says("The hotel gave our room away. We slept in the car.")
    draft = await running.card_for(ts)

    status, _ = await running.post(approve_click(draft, user=clicker, user_team=payload_team))
    assert status == 200, "the click is acked, then refused"

    refusal = await running.slack.wait_for(
        "chat.postEphemeral", where=lambda c: c.args.get("user") == clicker
    )
    assert NOT_AN_AGENT in refusal[0].args["text"], why
    assert replies_to_customers(running.slack) == [], why
    still = await running.store.get_draft(draft_id=draft.id)
    assert still.status == "pending" and still.decided_by is None, why
    assert [d.action for d in await running.store.decisions(draft_id=draft.id)] == []


async def test_a_member_of_the_agent_user_group_can_approve(running: RunningBot) -> None:
    ts, _ = await running.customer_says("My internet has been down for three days, I work from home.")
    draft = await running.card_for(ts)

    await running.post(approve_click(draft, user=GROUP_AGENT))

    sent = await running.card_for(ts, status="sent")
    assert sent.decided_by == GROUP_AGENT
    assert len(replies_to_customers(running.slack)) == 1
    groups = running.slack.calls_to("usergroups.users.list")
    assert groups and groups[0].args["usergroup"] == AGENT_GROUP


# --- logs ----------------------------------------------------------------------------------------

EMAIL = "casey.customer@example.com"
CARD = "4111 1111 1111 1111"  # Luhn-valid test Visa
PHONE = "+44 20 7946 0958"
SECRETS = ("xoxb-test", "test-signing-secret", "sk-test-not-real")
LEAKS = (*SECRETS, EMAIL, "casey.customer", CARD, CARD.replace(" ", ""), "7946 0958", "79460958")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve_env(slack: FakeSlack, llm: FakeOpenAI, tmp_path: Path, log_level: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "OPENAI_", "TACTFUL_"))}
    env.update(bot_environment(
        slack_url=slack.url, openai_url=llm.url, database_url=f"sqlite:///{tmp_path / 'tactful.db'}",
        TACTFUL_LOG_LEVEL=log_level, TACTFUL_LOG_FORMAT="json",
    ))
    return env


def _approve_value(slack: FakeSlack) -> str | None:
    for message in slack.messages[REVIEW]:
        for block in message.get("blocks") or []:
            for element in block.get("elements", []) if block.get("type") == "actions" else []:
                if element.get("action_id") == "approve_send":
                    return str(element["value"])
    return None


async def test_logs_of_a_whole_flow_show_no_secret_and_no_customer_contact_details(
    slack: FakeSlack, llm: FakeOpenAI, tmp_path: Path
) -> None:
    # DEBUG is the most talkative level: every INFO line, plus slack_sdk's request and
    # response dumps, Bolt's and SQLAlchemy's chatter.
    log_level = "DEBUG"
    port = _free_port()
    stderr_path, stdout_path = tmp_path / "stderr.log", tmp_path / "stdout.log"
    with stderr_path.open("wb") as stderr, stdout_path.open("wb") as stdout:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", "from app.cli import main; main()",
            "serve", "--host", "127.0.0.1", "--port", str(port),
            env=_serve_env(slack, llm, tmp_path, log_level), cwd=tmp_path,
            stdout=stdout, stderr=stderr,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            async def ready() -> bool:
                if process.returncode is not None:
                    raise AssertionError(stderr_path.read_text())
                try:
                    async with http.get(f"{url}/healthz") as resp:
                        return resp.status == 200
                except aiohttp.ClientConnectionError:
                    return False

            await wait_until(ready, timeout=30, every=0.1)

            async def post(signed: tuple[bytes, dict[str, str]]) -> int:
                async with http.post(f"{url}/slack/events", data=signed[0], headers=signed[1]) as resp:
                    return resp.status

            ts = next_ts()
            text = (f"You charged my card {CARD} twice! Email me at {EMAIL} "
                    f"or call {PHONE} today.")
            slack.add_message(SUPPORT, ts, text, user=CUSTOMER)
            event = message_event(SUPPORT, text, user=CUSTOMER, ts=ts, user_team=CUSTOMER_TEAM)
            assert await post(event_callback_body(event, event_id="Ev0LOGS")) == 200
            assert await post(event_callback_body(event, event_id="Ev0LOGS", retry_num=1)) == 200
            draft_id = await wait_until(lambda: _approve_value(slack), timeout=15)
            card_ts = slack.messages[REVIEW][0]["ts"]
            click = {"action_id": "approve_send", "value": draft_id, "channel_id": REVIEW,
                     "message_ts": card_ts}
            assert await post(block_actions_body(user_id=COLLEAGUE, **click)) == 200
            assert await post(block_actions_body(user_id=AGENT, **click)) == 200
            await slack.wait_for("chat.postMessage", where=lambda c: c.args.get("channel") == SUPPORT)
            # The card says "Sent" only after the bot has logged the reply.
            await slack.wait_for("chat.update", where=lambda c: "*Sent* by" in str(c.args.get("blocks")))
            assert await post(forged_event(next_ts())) == 401
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()

    logs = stderr_path.read_text() + stdout_path.read_text()
    lines = [line for line in logs.splitlines() if line.strip()]
    events = [json.loads(line).get("event") for line in lines if line.startswith("{")]
    # The flow really ran and was logged: startup, the duplicate, the refusal, the reply.
    for expected in ("tactful_ready", "duplicate_event_ignored", "agent_guard_refused", "reply_sent", "shutting_down"):
        assert expected in events, f"{expected} missing from the logs:\n{logs}"
    leaked = {leak: line for line in lines for leak in LEAKS if leak in line}
    assert not leaked, f"secrets or customer details in the logs: {leaked}"

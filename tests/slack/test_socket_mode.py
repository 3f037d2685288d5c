"""Stories of `tactful serve --socket`: the real ``serve_socket`` against a fake Socket Mode server.

The bot opens its websocket through ``apps.connections.open`` with the
app-level token, then Slack (the fake) pushes envelopes down it.  Every story
checks the ack (within Slack's 3 s) and what reached Slack afterwards, and the
fixture checks that cancelling the server (or SIGTERM) leaves no websocket open
and no slack_sdk, Bolt or tactful task behind.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from app.settings import Settings, SettingsError
from app.slack.socket_mode import serve_socket
from app.store import Store
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.signing import (
    block_actions_body,
    event_callback_body,
    message_event,
    slash_command_body,
)
from tests.fakes.slack_api import FakeSlack
from tests.fakes.socket_mode import (
    APP_TOKEN,
    Ack,
    Envelope,
    FakeSocketMode,
    envelope_from_http,
    events_api_envelope,
)
from tests.slack.conftest import (
    AGENT,
    CUSTOMER,
    CUSTOMER_TEAM,
    HOLD,
    REVIEW,
    SUPPORT,
    GatedOpenAI,
    bot_settings,
    cards_posted,
    next_ts,
    replies_to_customers,
    wait_until,
)

COMPLAINT = "My order #4821 never arrived and nobody answers the phone. This is the third time!"
# Code living in these packages must not outlive the server once it is cancelled.
_OURS = ("/slack_sdk/", "/slack_bolt/", "/app/")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def socket_settings(slack: FakeSlack, llm: FakeOpenAI, database_url: str, **extra: Any) -> Settings:
    """The HTTP-mode settings with an app-level token and no signing secret at all."""
    values: dict[str, Any] = {"SLACK_APP_TOKEN": APP_TOKEN, "SLACK_SIGNING_SECRET": None}
    return bot_settings(slack, llm, database_url, **(values | extra))


def lingering_tasks() -> list[asyncio.Task[Any]]:
    """Unfinished tasks running slack_sdk, Bolt or tactful code."""
    found = []
    for task in asyncio.all_tasks():
        code = getattr(task.get_coro(), "cr_code", None)
        if task is not asyncio.current_task() and code and any(p in code.co_filename for p in _OURS):
            found.append(task)
    return found


@dataclass
class SocketBot:
    slack: FakeSlack
    port: int
    task: asyncio.Task[None]
    session: aiohttp.ClientSession

    @property
    def socket(self) -> FakeSocketMode:
        return self.slack.socket_mode

    async def get(self, path: str) -> tuple[int, str]:
        async with self.session.get(f"http://127.0.0.1:{self.port}{path}") as response:
            return response.status, await response.text()

    async def deliver(self, envelope: Envelope) -> Ack:
        """Push an envelope and return its ack, which must come within Slack's 3 s."""
        await self.socket.send(envelope)
        ack = await self.socket.ack(envelope["envelope_id"], timeout=3.0)
        assert ack.after_s is not None and ack.after_s < 3.0
        return ack

    def customer_message(self, text: str, *, event_id: str) -> tuple[str, Envelope]:
        """A customer writes in the support channel; Slack wraps the event for the socket."""
        ts = next_ts()
        self.slack.add_message(SUPPORT, ts, text, user=CUSTOMER)
        event = message_event(SUPPORT, text, user=CUSTOMER, ts=ts, user_team=CUSTOMER_TEAM)
        return ts, envelope_from_http(event_callback_body(event, event_id=event_id))

    async def drafted_card(self, timeout: float = 10.0) -> tuple[str, str]:
        """(card ts, draft id) of the first card once its draft is ready to approve."""
        def ready() -> tuple[str, str] | None:
            for message in self.slack.messages[REVIEW]:
                for block in message.get("blocks") or []:
                    for element in block.get("elements") or []:
                        if element.get("action_id") == "approve_send":
                            return str(message["ts"]), str(element["value"])
            return None

        found: tuple[str, str] = await wait_until(ready, timeout=timeout)
        return found


async def start_socket_bot(settings: Settings, slack: FakeSlack) -> SocketBot:
    port = free_port()
    task = asyncio.create_task(serve_socket(settings, port=port))
    bot = SocketBot(slack, port, task, aiohttp.ClientSession())
    connected = asyncio.ensure_future(slack.socket_mode.wait_connected(timeout=15))
    await asyncio.wait({connected, task}, return_when=asyncio.FIRST_COMPLETED)
    if not connected.done() or connected.exception() is not None:
        # A server that died while starting shows its own error, not a connection timeout.
        connected.cancel()
        await asyncio.gather(connected, return_exceptions=True)
        await stop_socket_bot(bot)
        failure = task.exception() if task.done() and not task.cancelled() else None
        if failure is not None:
            raise failure
        raise AssertionError("the bot never opened its Socket Mode connection")
    return bot


async def stop_socket_bot(bot: SocketBot) -> None:
    """Cancel the server as a signal would, and check that it let go of everything."""
    await bot.session.close()
    bot.task.cancel()
    await asyncio.wait_for(asyncio.gather(bot.task, return_exceptions=True), timeout=10)
    await bot.socket.wait_closed(timeout=5)
    # A cancelled task needs a turn of the loop to finish; anything left after that leaks.
    await wait_until(lambda: not lingering_tasks(), timeout=2)
    # As in stop_bot: what the cancelled bot left is collected while this loop runs,
    # once serve_socket's freeze no longer hides it (and this test run's heap).
    gc.unfreeze()
    gc.collect()


@pytest.fixture
async def socket_bot(
    slack: FakeSlack, llm: FakeOpenAI, database_url: str
) -> AsyncIterator[SocketBot]:
    bot = await start_socket_bot(socket_settings(slack, llm, database_url), slack)
    try:
        yield bot
    finally:
        await stop_socket_bot(bot)
        assert bot.task.cancelled(), "serve_socket ends by cancellation, not by an error"


# --- connecting ------------------------------------------------------------------


async def test_what_start_up_built_is_frozen_out_of_the_garbage_collector(
    socket_bot: SocketBot,
) -> None:
    # A burst's full collections would walk it all, to free none of it.
    assert gc.get_freeze_count() > 10_000


async def test_the_bot_opens_its_socket_with_the_app_token_and_reports_healthy(
    socket_bot: SocketBot,
) -> None:
    opened = socket_bot.slack.calls_to("apps.connections.open")
    assert len(opened) == 1 and opened[0].ok, "one URL, asked for with the xapp- token"
    assert socket_bot.socket.connections == 1 and socket_bot.socket.refused == 0
    assert await healthy(socket_bot)
    status, metrics = await socket_bot.get("/metrics")
    assert status == 200 and "tactful_" in metrics


async def test_a_ping_from_the_bot_gets_a_pong(socket_bot: SocketBot) -> None:
    # slack_sdk pings right after connecting and reconnects when pongs stop coming.
    await wait_until(lambda: socket_bot.socket.pings >= 1, timeout=5)


async def test_the_health_port_takes_no_slack_requests_in_socket_mode(
    socket_bot: SocketBot, slack: FakeSlack, database_url: str
) -> None:
    """Socket Mode skips request signing, so an HTTP door to Bolt would let anyone act as an agent."""
    _, envelope = socket_bot.customer_message(COMPLAINT, event_id="Ev00FORGE1")
    await socket_bot.deliver(envelope)
    card_ts, draft_id = await socket_bot.drafted_card()

    forged_body, headers = block_actions_body(
        action_id="approve_send", value=draft_id, user_id=AGENT, channel_id=REVIEW,
        message_ts=card_ts,
    )
    headers = {"Content-Type": headers["Content-Type"]}  # no signature: none is checked
    url = f"http://127.0.0.1:{socket_bot.port}/slack/events"
    async with socket_bot.session.post(url, data=forged_body, headers=headers) as response:
        assert response.status == 404

    assert await healthy(socket_bot)
    assert replies_to_customers(slack) == [], "nothing reached the customer"
    store = await Store.open(database_url)
    try:
        draft = await store.get_draft(draft_id=int(draft_id.split(":")[0]))
        assert draft is not None and draft.status == "pending" and draft.decided_by is None
    finally:
        await store.close()


# --- the everyday flow over the socket ---------------------------------------------


async def test_a_complaint_over_the_socket_gets_a_card_and_approval_replies_in_thread(
    socket_bot: SocketBot, slack: FakeSlack, database_url: str
) -> None:
    ts, envelope = socket_bot.customer_message(COMPLAINT, event_id="Ev00SOCK01")
    assert envelope["type"] == "events_api" and envelope["retry_attempt"] == 0

    ack = await socket_bot.deliver(envelope)
    assert ack.payload is None, "an event's ack is the bare envelope id"

    card_ts, draft_id = await socket_bot.drafted_card()
    assert [c.args["channel"] for c in cards_posted(slack)] == [REVIEW]
    card = next(m for m in slack.messages[REVIEW] if m["ts"] == card_ts)
    shown = str(card["blocks"])
    assert f"<@{CUSTOMER}>" in shown and f"/p{ts.replace('.', '')}|view message>" in shown

    approve = envelope_from_http(
        block_actions_body(
            action_id="approve_send", value=draft_id, user_id=AGENT, channel_id=REVIEW,
            message_ts=card_ts, message=card, response_url=slack.response_url("approve"),
        )
    )
    assert approve["type"] == "interactive" and approve["payload"]["type"] == "block_actions"
    ack = await socket_bot.deliver(approve)
    assert ack.payload is None

    replies = await slack.wait_for(
        "chat.postMessage", where=lambda c: c.args.get("channel") == SUPPORT and c.ok
    )
    assert len(replies) == 1
    assert replies[0].args["thread_ts"] == ts, "the reply goes into the customer's thread"
    # The card says who decided, and its buttons are gone.
    await wait_until(
        lambda: "approve_send" not in str(card.get("blocks")) and AGENT in str(card.get("blocks"))
    )
    store = await Store.open(database_url)
    try:
        # The follow-up commitment is the approval's last step; after it nothing is in flight.
        await wait_until(lambda: store.commitments_of(draft_id=int(draft_id.split(":")[0])))
        draft = await store.get_draft(draft_id=int(draft_id.split(":")[0]))
        assert draft is not None and draft.status == "sent" and draft.decided_by == AGENT
        assert replies[0].args["text"] == draft.final_text
    finally:
        await store.close()


async def test_slack_redelivering_an_event_over_the_socket_posts_one_card(
    socket_bot: SocketBot, slack: FakeSlack, database_url: str
) -> None:
    _, first = socket_bot.customer_message(COMPLAINT, event_id="Ev00RETRY1")
    await socket_bot.deliver(first)
    # Slack's retry: a new envelope, the same event (same event_id), retry_attempt 1.
    retry = events_api_envelope(first["payload"], retry_attempt=1, retry_reason="timeout")
    again = dict(first)  # and the very same envelope, as a reconnecting link may resend it
    for envelope in (retry, again):
        ack = await socket_bot.deliver(envelope)
        assert ack.payload is None, "a duplicate is acked too, so Slack stops retrying"

    await socket_bot.drafted_card()
    store = await Store.open(database_url)
    try:
        await wait_until(lambda: _no_jobs_left(store))
    finally:
        await store.close()
    assert len(cards_posted(slack)) == 1
    assert len(socket_bot.socket.acks_for(first["envelope_id"])) == 2


async def _no_jobs_left(store: Store) -> bool:
    return await store.pending_job_count() == 0


async def test_slash_command_over_the_socket_answers_in_the_ack_and_drafts_privately(
    socket_bot: SocketBot, slack: FakeSlack
) -> None:
    envelope = envelope_from_http(
        slash_command_body(
            "/tactful", f"draft {COMPLAINT}", AGENT, SUPPORT,
            response_url=slack.response_url("slash"),
        )
    )
    assert envelope["type"] == "slash_commands" and envelope["accepts_response_payload"]

    ack = await socket_bot.deliver(envelope)
    assert ack.payload is not None and ack.payload["response_type"] == "ephemeral"
    assert "only you" in ack.payload["text"]

    answered = await slack.wait_for("response_url", where=lambda c: c.args["hook"] == "slash")
    assert answered[0].args["response_type"] == "ephemeral"
    assert answered[0].args.get("blocks"), "the draft itself comes back to the agent only"
    assert replies_to_customers(slack) == [] and cards_posted(slack) == []


async def test_the_bot_reconnects_when_slack_refreshes_the_socket(
    socket_bot: SocketBot, slack: FakeSlack
) -> None:
    await socket_bot.socket.disconnect("refresh_requested")
    await socket_bot.socket.wait_connected(connects=2, timeout=10)
    assert len(slack.calls_to("apps.connections.open")) == 2, "a fresh URL for the new link"
    await wait_until(lambda: socket_bot.socket.connections == 1, timeout=5)

    _, envelope = socket_bot.customer_message(COMPLAINT, event_id="Ev00AFTER1")
    await socket_bot.deliver(envelope)
    await socket_bot.drafted_card()
    assert len(cards_posted(slack)) == 1


async def test_a_server_stopped_mid_draft_leaves_the_acked_event_to_the_next_one(
    slack: FakeSlack, gated_llm: GatedOpenAI, database_url: str
) -> None:
    settings = socket_settings(slack, gated_llm, database_url, TACTFUL_JOB_LEASE_SECONDS=1.0)
    first = await start_socket_bot(settings, slack)
    try:
        _, envelope = first.customer_message(f"The sofa came with a torn cushion. {HOLD}",
                                              event_id="Ev00HELD01")
        await first.deliver(envelope)  # acked while the model has not even started
        await gated_llm.wait_held()
        assert cards_posted(slack) == [], "the card waits for the draft"
    finally:
        await stop_socket_bot(first)  # stopped while the model is still writing
    assert first.task.cancelled()

    second = await start_socket_bot(settings, slack)
    try:
        await second.socket.wait_connected(connects=2)
        gated_llm.release()
        await second.drafted_card()
        assert len(cards_posted(slack)) == 1, "the next server drafted it and posted one card"
    finally:
        await stop_socket_bot(second)


async def test_sigterm_closes_the_socket_and_ends_the_server_cleanly(
    slack: FakeSlack, llm: FakeOpenAI, database_url: str
) -> None:
    """`docker stop` sends SIGTERM: the server must close its link and store, not just die."""
    bot = await start_socket_bot(socket_settings(slack, llm, database_url), slack)
    try:
        # Without the server's handler SIGTERM would kill pytest itself: check before sending.
        assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, None)
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(asyncio.shield(bot.task), timeout=10)
    finally:
        await stop_socket_bot(bot)
    assert not bot.task.cancelled() and bot.task.exception() is None, "a normal return"
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL, "the handler is handed back"


# --- the app-level token -----------------------------------------------------------


async def test_a_refused_app_token_stops_the_server_with_a_clear_message(
    slack: FakeSlack, llm: FakeOpenAI, database_url: str
) -> None:
    settings = socket_settings(slack, llm, database_url, SLACK_APP_TOKEN="xapp-1-revoked")
    port = free_port()
    with pytest.raises(SettingsError) as refused:
        await asyncio.wait_for(serve_socket(settings, port=port), timeout=10)
    message = str(refused.value)
    assert "SLACK_APP_TOKEN" in message and "invalid_auth" in message
    assert "xapp-1-revoked" not in message, "the token itself is never printed"
    assert slack.socket_mode.connects == 0
    await wait_until(lambda: not lingering_tasks(), timeout=2)
    with pytest.raises(OSError):  # the health port was released
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.close()


async def test_the_fake_takes_only_an_app_token_and_only_in_the_header(slack: FakeSlack) -> None:
    as_bot = AsyncWebClient(token="xoxb-test", base_url=slack.url)
    with pytest.raises(SlackApiError) as refused:
        await as_bot.api_call("apps.connections.open")
    assert refused.value.response["error"] == "not_allowed_token_type"
    with pytest.raises(SlackApiError) as in_body:
        await AsyncWebClient(base_url=slack.url).api_call(
            "apps.connections.open", data={"token": APP_TOKEN}
        )
    assert in_body.value.response["error"] == "not_authed"

    opened = await AsyncWebClient(base_url=slack.url).apps_connections_open(app_token=APP_TOKEN)
    url = str(opened["url"])
    assert url.startswith(f"ws://127.0.0.1:{slack.port}/socket?ticket=")
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url) as ws:
            hello = await ws.receive_json(timeout=2)
            assert hello["type"] == "hello" and hello["connection_info"] == {"app_id": "A1"}
        with pytest.raises(aiohttp.WSServerHandshakeError):  # a ticket opens one connection
            await session.ws_connect(url)
    assert slack.socket_mode.refused == 1


async def healthy(bot: Any) -> bool:
    status, body = await bot.get("/healthz")
    return status == 200 and json.loads(body)["status"] == "ok"


# --- metrics ---------------------------------------------------------------------


async def sample(bot: SocketBot, name: str, **labels: str) -> float:
    """One sample of /metrics (0 when it is not there yet)."""
    status, text = await bot.get("/metrics")
    assert status == 200
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and all(found.labels.get(k) == v for k, v in labels.items()):
                return float(found.value)
    return 0.0


async def test_an_envelope_over_the_socket_is_counted_and_its_ack_timed(
    socket_bot: SocketBot,
) -> None:
    requests_before = await sample(
        socket_bot, "tactful_slack_requests_total", kind="socket", status="200"
    )
    acks_before = await sample(socket_bot, "tactful_slack_ack_seconds_count")

    _, envelope = socket_bot.customer_message(COMPLAINT, event_id="Ev00METRIC1")
    await socket_bot.deliver(envelope)

    async def counted() -> bool:
        requests = await sample(
            socket_bot, "tactful_slack_requests_total", kind="socket", status="200"
        )
        return requests == requests_before + 1

    # The counter moves just after the ack leaves, so the fake may see the ack first.
    await wait_until(counted, timeout=5)
    assert await sample(socket_bot, "tactful_slack_ack_seconds_count") == acks_before + 1

"""Socket Mode envelopes feed the same request and ack metrics as HTTP requests do."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.slack_api import FakeSlack
from tests.slack.conftest import wait_until
from tests.slack.test_socket_mode import (
    COMPLAINT,
    SocketBot,
    socket_settings,
    start_socket_bot,
    stop_socket_bot,
)


@pytest.fixture
async def socket_bot(
    slack: FakeSlack, llm: FakeOpenAI, database_url: str
) -> AsyncIterator[SocketBot]:
    bot = await start_socket_bot(socket_settings(slack, llm, database_url), slack)
    try:
        yield bot
    finally:
        await stop_socket_bot(bot)


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

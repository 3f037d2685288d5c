"""Starting the bot: health before and after ready, metrics, and refusals that protect customers."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web

from app.settings import SettingsError
from app.slack.server import Bot, http_app
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.slack_api import FakeSlack
from tests.slack.conftest import REVIEW, RunningBot, bot_settings


async def test_healthz_is_503_until_the_bot_is_ready_then_200(
    slack: FakeSlack, llm: FakeOpenAI, database_url: str
) -> None:
    bot = Bot(bot_settings(slack, llm, database_url))
    runner = web.AppRunner(http_app(bot), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{url}/healthz") as before:
                assert before.status == 503
            async with http.post(f"{url}/slack/events", data=b"{}") as early:
                assert early.status == 503, "no Slack request is half-handled while starting"
            await bot.start()
            async with http.get(f"{url}/healthz") as after:
                assert after.status == 200 and (await after.json())["status"] == "ok"
        assert slack.calls_to("auth.test"), "auth.test goes to SLACK_API_URL"
    finally:
        await bot.stop()
        await runner.cleanup()


async def test_metrics_are_prometheus_text_with_our_counters(running: RunningBot) -> None:
    await running.customer_says("The app crashed and I lost the report I was writing for an hour.")
    async with running.session.get(f"{running.url}/metrics") as response:
        body = await response.text()
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
    for name in ("tactful_slack_ack_seconds_bucket", "tactful_messages_total", "tactful_slack_requests_total"):
        assert name in body


async def test_a_review_channel_shared_with_customers_is_refused_at_start(
    slack: FakeSlack, llm: FakeOpenAI, database_url: str
) -> None:
    slack.add_channel(REVIEW, is_ext_shared=True, name="shared-with-acme")
    bot = Bot(bot_settings(slack, llm, database_url))
    with pytest.raises(SettingsError, match="Slack Connect"):
        await bot.start()
    assert not bot.ready


async def test_a_token_slack_refuses_stops_start_with_a_clear_message(
    slack: FakeSlack, llm: FakeOpenAI, database_url: str
) -> None:
    bot = Bot(bot_settings(slack, llm, database_url, SLACK_BOT_TOKEN="xoxb-revoked"))
    with pytest.raises(SettingsError, match="Slack refused SLACK_BOT_TOKEN") as caught:
        await bot.start()
    assert "xoxb-revoked" not in str(caught.value)

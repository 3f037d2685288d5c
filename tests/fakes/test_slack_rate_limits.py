"""FakeSlack with Slack's published rate limits: bursts past them get 429 ``ratelimited``."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from .slack_api import FakeSlack
from .slack_rate_limits import TIER_3, SlackRateLimits
from .virtual_time import VirtualTime

REPO = Path(__file__).resolve().parents[2]
SUPPORT, REVIEW = "C0SUPPORT", "C0REVIEW"


@pytest.fixture
def bot(limited: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token="xoxb-test", base_url=limited.url)


async def post(bot: AsyncWebClient, channel: str) -> int | str:
    """The Retry-After of a refused post, or "ok"."""
    try:
        await bot.chat_postMessage(channel=channel, text="hello")
    except SlackApiError as refused:
        assert refused.response.status_code == 429
        assert refused.response["error"] == "ratelimited" and refused.response["ok"] is False
        return int(refused.response.headers["Retry-After"])
    return "ok"


async def test_posts_to_one_channel_get_a_short_burst_then_one_per_second(
    limited: FakeSlack, bot: AsyncWebClient, time: VirtualTime
) -> None:
    answers = [await post(bot, REVIEW) for _ in range(5)]
    assert answers == ["ok", "ok", "ok", 1, 1], "a burst of three, then Retry-After: 1"

    await time.advance(1.0)
    assert [await post(bot, REVIEW), await post(bot, REVIEW)] == ["ok", 1]
    assert len(limited.messages[REVIEW]) == 4, "a refused post stores nothing"


async def test_each_channel_has_its_own_allowance_for_posts(
    bot: AsyncWebClient,
) -> None:
    assert [await post(bot, REVIEW) for _ in range(4)][-1] == 1
    assert await post(bot, SUPPORT) == "ok", "a busy review channel does not block replies"


async def test_tier_3_methods_share_fifty_a_minute_per_method_whatever_the_channel(
    bot: AsyncWebClient, time: VirtualTime
) -> None:
    posted = [await bot.chat_postMessage(channel=f"C0{n:04d}", text="card") for n in range(20)]
    updates = 0
    with pytest.raises(SlackApiError) as refused:
        for message in posted:
            await bot.chat_update(channel=message["channel"], ts=message["ts"], text="done")
            updates += 1
    assert updates == TIER_3.burst
    assert refused.value.response.headers["Retry-After"] == "2", "50/min refills one in 1.2 s"
    # Another method has its own allowance.
    assert (await bot.conversations_info(channel=SUPPORT))["ok"]

    await time.advance(60)
    for message in posted[updates:]:
        await bot.chat_update(channel=message["channel"], ts=message["ts"], text="done")


async def test_stats_count_calls_and_429s_per_method(limited: FakeSlack, bot: AsyncWebClient) -> None:
    for _ in range(5):
        await post(bot, REVIEW)
    await bot.auth_test()
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{limited.base_url}/_fake/stats") as response,
    ):
        stats = await response.json()
    assert stats["calls"] == {"chat.postMessage": 5, "auth.test": 1}
    assert stats["ratelimited"] == {"chat.postMessage": 2}
    assert (stats["total_calls"], stats["total_ratelimited"], stats["rate_limits"]) == (6, 2, True)


async def test_limits_are_off_unless_asked_for(slack: FakeSlack) -> None:
    client = AsyncWebClient(token="xoxb-test", base_url=slack.url)
    for _ in range(10):
        await client.chat_postMessage(channel=REVIEW, text="hello")
    assert slack.stats()["ratelimited"] == {} and slack.stats()["rate_limits"] is False


async def test_speed_plays_slack_minutes_faster(time: VirtualTime) -> None:
    limits = SlackRateLimits(clock=time, speed=10)
    assert [limits.retry_after("chat.postMessage", {"channel": REVIEW}) for _ in range(4)] == [
        None, None, None, 1,
    ]
    await time.advance(0.1)
    assert limits.retry_after("chat.postMessage", {"channel": REVIEW}) is None
    assert limits.retry_after("api.unknown", {}) is None, "unlisted methods are not limited"


async def test_the_standalone_fake_takes_a_rate_limits_flag() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.fakes.slack_api", "--print-url", "--rate-limits",
        cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        url = (await asyncio.wait_for(process.stdout.readline(), timeout=10)).decode().strip()
        bot = AsyncWebClient(token="xoxb-test", base_url=url)
        assert [await post(bot, REVIEW) for _ in range(4)] == ["ok", "ok", "ok", 1]
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), timeout=10)

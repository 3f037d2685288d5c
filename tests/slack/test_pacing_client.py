"""The bot's Slack clients wait their turn in the pacer and retry a 429 there, against FakeSlack.

The fake enforces Slack's published limits on the same virtual clock the
pacer reads, so "no 429" is exact, not a matter of timing luck.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from app.settings import Settings
from app.slack.client import RATELIMITED_RETRIES, PacedWebClient, build_web_client
from app.slack.pacing import SlackPacer
from tests.fakes.slack_api import FakeSlack
from tests.fakes.support_workspace import REVIEW, SUPPORT, bot_environment
from tests.fakes.virtual_time import VirtualTime


@pytest.fixture
def pacer(time: VirtualTime) -> SlackPacer:
    return SlackPacer(strict=True, clock=time, sleep=time.sleep)


def clients(fake: FakeSlack, pacer: SlackPacer) -> tuple[PacedWebClient, PacedWebClient]:
    settings = Settings(
        **bot_environment(slack_url=fake.url, openai_url="http://llm.test/v1", database_url="sqlite://")
    )
    return (
        build_web_client(settings, pacer=pacer),
        build_web_client(settings, pacer=pacer, for_replies=True),
    )


async def run_until_done(time: VirtualTime, *calls: Awaitable[object], step: float = 0.25) -> None:
    """Run the calls, moving the virtual clock while they wait (real I/O still needs real turns)."""
    tasks = [asyncio.ensure_future(c) for c in calls]
    for _ in range(2000):
        if all(t.done() for t in tasks):
            break
        await asyncio.sleep(0.002)
        await time.advance(step)
    await asyncio.gather(*tasks)


def card_flow(cards: PacedWebClient) -> Callable[[int], Awaitable[None]]:
    async def card(n: int) -> None:
        posted = await cards.chat_postMessage(channel=REVIEW, text=f"card {n}")
        await cards.chat_getPermalink(channel=REVIEW, message_ts=posted["ts"])
        await cards.chat_update(channel=REVIEW, ts=posted["ts"], text=f"card {n}, drafted")

    return card


async def test_a_strict_pacer_gets_a_burst_of_cards_and_updates_through_with_no_429(
    limited: FakeSlack, pacer: SlackPacer, time: VirtualTime
) -> None:
    cards, _ = clients(limited, pacer)
    card = card_flow(cards)

    began = time.now
    await run_until_done(time, *(card(n) for n in range(30)))

    assert limited.stats()["ratelimited"] == {}
    assert limited.stats()["calls"] == {
        "chat.postMessage": 30, "chat.getPermalink": 30, "chat.update": 30,
    }
    # One post a second in the review channel is the bound, and the pacer keeps to it.
    assert 27 <= time.now - began <= 32


async def test_the_default_pacer_learns_from_a_few_429s_and_gets_every_card_through(
    limited: FakeSlack, time: VirtualTime
) -> None:
    cards, _ = clients(limited, SlackPacer(clock=time, sleep=time.sleep))
    card = card_flow(cards)

    await run_until_done(time, *(card(n) for n in range(30)))

    stats = limited.stats()
    assert stats["calls"]["chat.update"] - stats["ratelimited"].get("chat.update", 0) == 30
    assert 0 < stats["total_ratelimited"] < 0.05 * stats["total_calls"], stats


async def test_a_429_is_retried_after_retry_after_and_holds_back_the_calls_behind_it(
    limited: FakeSlack, pacer: SlackPacer, time: VirtualTime
) -> None:
    cards, _ = clients(limited, pacer)
    limited.fail_next("chat.update", status=429, retry_after=5)
    posted = await cards.chat_postMessage(channel=REVIEW, text="card")
    finished: dict[str, float] = {}

    async def update(name: str) -> None:
        await cards.chat_update(channel=REVIEW, ts=posted["ts"], text=name)
        finished[name] = time.now

    began = time.now
    first = asyncio.ensure_future(update("refused first"))
    await asyncio.sleep(0.05)  # the refusal is in before the second call queues
    await run_until_done(time, first, update("queued behind"))

    statuses = [c.status for c in limited.calls_to("chat.update")]
    assert statuses == [429, 200, 200]
    assert 5 <= finished["refused first"] - began < 6
    assert finished["queued behind"] >= finished["refused first"]


async def test_replies_are_retried_on_429_only_and_give_up_after_a_few(
    limited: FakeSlack, pacer: SlackPacer, time: VirtualTime
) -> None:
    _, replies = clients(limited, pacer)
    limited.fail_next("chat.postMessage", status=503)
    with pytest.raises(SlackApiError):
        await replies.chat_postMessage(channel=SUPPORT, text="reply", thread_ts="1.000100")
    assert len(limited.calls_to("chat.postMessage")) == 1, "5xx: Slack may have posted, no retry"

    limited.fail_next("chat.postMessage", status=429, retry_after=1, times=RATELIMITED_RETRIES + 1)
    refused: list[SlackApiError] = []

    async def send() -> None:
        try:
            await replies.chat_postMessage(channel=SUPPORT, text="reply", thread_ts="1.000100")
        except SlackApiError as exc:
            refused.append(exc)

    await run_until_done(time, send())
    assert len(limited.calls_to("chat.postMessage")) == 1 + RATELIMITED_RETRIES + 1
    assert [e.response.status_code for e in refused] == [429], "the caller hears of it at last"


async def test_listener_clients_bolt_copies_still_retry_429_themselves(
    limited: FakeSlack, pacer: SlackPacer
) -> None:
    cards, _ = clients(limited, pacer)
    # What Bolt builds for each listener: a plain client with the bot client's retry handlers.
    listener = AsyncWebClient(
        token=cards.token, base_url=cards.base_url, retry_handlers=cards.retry_handlers.copy()
    )
    limited.fail_next("chat.postEphemeral", status=429, retry_after=0)
    await listener.chat_postEphemeral(channel=REVIEW, user="UAGENT1", text="Sent.")
    assert [c.status for c in limited.calls_to("chat.postEphemeral")] == [429, 200]


async def test_unpaced_methods_go_straight_through(
    limited: FakeSlack, pacer: SlackPacer
) -> None:
    cards, _ = clients(limited, pacer)
    call: Callable[[], Awaitable[object]] = cards.auth_test
    await asyncio.wait_for(asyncio.gather(*(call() for _ in range(20))), timeout=5)
    assert pacer.queued == 0 and limited.stats()["ratelimited"] == {}

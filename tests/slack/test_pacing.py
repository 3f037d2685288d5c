"""The pacer keeps the bot's Slack calls within Slack's limits, on a clock the test moves.

Calls take a token at once while the bucket has one; then they queue, the
most urgent first and in arrival order within a priority.  A 429 empties the
bucket until Retry-After.  Methods called while Slack waits for an ack are
never paced.  Most stories use a strict pacer (paced from the first call); the
default one paces a bucket only once Slack has refused a call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import pytest

from app.slack.pacing import (
    LIMITS,
    STRICT_FOR_S,
    Limit,
    Priority,
    SlackPacer,
    call_priority,
    current_priority,
)
from tests.fakes.virtual_time import VirtualTime, settle

REVIEW, SUPPORT = "C0REVIEW", "C0SUPPORT"


@pytest.fixture
def time() -> VirtualTime:
    return VirtualTime()


@pytest.fixture
def pacer(time: VirtualTime) -> SlackPacer:
    return SlackPacer(strict=True, clock=time, sleep=time.sleep)


class Calls:
    """Calls started as tasks; ``went`` lists their names in the order the pacer let them go.

    A call holds its slot until Slack "answers": at once, or when the test
    sets the event it was started with.
    """

    def __init__(self, pacer: SlackPacer, time: VirtualTime) -> None:
        self.pacer, self.time = pacer, time
        self.went: list[str] = []
        self.at: dict[str, float] = {}
        self.tasks: list[asyncio.Task[None]] = []

    def start(
        self, name: str, method: str, channel: str | None = None,
        priority: Priority = Priority.NORMAL, answered: asyncio.Event | None = None,
    ) -> None:
        async def call() -> None:
            async with self.pacer.slot(method, channel, priority):
                self.went.append(name)
                self.at[name] = self.time.now
                if answered is not None:
                    await answered.wait()

        self.tasks.append(asyncio.create_task(call()))


@pytest.fixture
def calls(pacer: SlackPacer, time: VirtualTime) -> Calls:
    return Calls(pacer, time)


async def test_posts_to_one_channel_go_at_once_for_the_burst_then_one_a_second(
    calls: Calls, time: VirtualTime
) -> None:
    for n in range(5):
        calls.start(f"card{n}", "chat.postMessage", REVIEW)
    await settle()
    assert calls.went == ["card0", "card1"], "a burst of two goes without waiting"

    await time.advance(3.0)
    assert calls.went == ["card0", "card1", "card2", "card3", "card4"]
    start = 1000.0
    assert [calls.at[f"card{n}"] - start for n in range(5)] == [0, 0, 1, 2, 3]


async def test_channels_have_their_own_allowance(calls: Calls) -> None:
    for n in range(3):
        calls.start(f"card{n}", "chat.postMessage", REVIEW)
    calls.start("reply", "chat.postMessage", SUPPORT)
    await settle()
    assert calls.went == ["card0", "card1", "reply"], "a queue of cards never delays a reply"


async def test_tier_3_methods_go_at_fifty_a_minute_per_method(
    calls: Calls, time: VirtualTime
) -> None:
    tier_3 = LIMITS["chat.update"]
    for n in range(tier_3.burst + 10):
        calls.start(f"update{n}", "chat.update", f"C{n}")
    calls.start("info", "conversations.info", REVIEW)
    await settle()
    assert len(calls.went) == tier_3.burst + 1 and "info" in calls.went

    await time.advance(60 / tier_3.per_minute * 10)
    assert len(calls.went) == tier_3.burst + 11


async def test_when_calls_queue_replies_and_urgent_cards_go_first_in_arrival_order(
    calls: Calls, time: VirtualTime
) -> None:
    calls.start("first", "chat.postMessage", REVIEW)
    calls.start("second", "chat.postMessage", REVIEW)
    calls.start("normal-a", "chat.postMessage", REVIEW)
    calls.start("urgent-a", "chat.postMessage", REVIEW, Priority.URGENT)
    calls.start("normal-b", "chat.postMessage", REVIEW)
    calls.start("urgent-b", "chat.postMessage", REVIEW, Priority.URGENT)
    calls.start("reply", "chat.postMessage", REVIEW, Priority.REPLY)

    await time.advance(10)
    assert calls.went == [
        "first", "second", "reply", "urgent-a", "urgent-b", "normal-a", "normal-b",
    ]


async def test_a_429_pauses_the_bucket_for_retry_after(
    pacer: SlackPacer, calls: Calls, time: VirtualTime
) -> None:
    async with pacer.slot("chat.update", None, Priority.NORMAL):
        await pacer.refused("chat.update", None, 5.0)
    calls.start("waits", "chat.update")
    calls.start("other method", "chat.getPermalink")

    await time.advance(4.9)
    assert calls.went == ["other method"], "only the refused method's bucket is paused"
    await time.advance(0.2)
    assert calls.went == ["other method", "waits"]


async def test_ack_time_methods_are_never_paced(pacer: SlackPacer, time: VirtualTime) -> None:
    for method in ("views.open", "chat.postEphemeral", "users.info", "auth.test"):
        assert pacer.limit_of(method) is None
        for _ in range(500):
            async with asyncio.timeout(0.1), pacer.slot(method, REVIEW, Priority.NORMAL):
                pass
    # A 429 on one of them makes only that call wait, as slack_sdk's own retry does.
    waited = asyncio.create_task(pacer.refused("views.open", None, 2.0))
    await time.advance(1.9)
    assert not waited.done()
    await time.advance(0.2)
    assert waited.done()


async def test_a_caller_cancelled_while_queued_gives_its_turn_to_the_next(
    calls: Calls, time: VirtualTime, pacer: SlackPacer
) -> None:
    for n in range(4):
        calls.start(f"card{n}", "chat.postMessage", REVIEW)
    await settle()
    calls.tasks[2].cancel()
    await time.advance(1.0)
    assert calls.went == ["card0", "card1", "card3"]
    assert pacer.queued == 0


async def test_a_stopping_bot_leaves_no_drainer_behind(
    calls: Calls, pacer: SlackPacer
) -> None:
    for n in range(4):
        calls.start(f"card{n}", "chat.postMessage", REVIEW)
    await settle()
    for task in calls.tasks:
        task.cancel()
    await settle()
    drainers = [
        t for t in asyncio.all_tasks()
        if getattr(t.get_coro(), "__qualname__", "") == "SlackPacer._drain"
    ]
    assert drainers == []


async def test_speed_and_custom_limits(time: VirtualTime) -> None:
    fast = SlackPacer(
        limits={"chat.update": Limit(60, 1)}, strict=True, speed=10, clock=time, sleep=time.sleep
    )
    went: list[float] = []

    async def call() -> None:
        async with fast.slot("chat.update", None, Priority.NORMAL):
            went.append(time.now)

    tasks: list[Awaitable[None]] = [call() for _ in range(3)]
    gathered = asyncio.gather(*tasks)
    await time.advance(1)
    await gathered
    assert [round(t - 1000.0, 6) for t in went] == [0, 0.1, 0.2]


def test_priority_is_normal_unless_a_caller_says_otherwise() -> None:
    assert current_priority() is Priority.NORMAL
    with call_priority(Priority.URGENT):
        assert current_priority() is Priority.URGENT
    assert current_priority() is Priority.NORMAL


async def test_by_default_calls_past_the_burst_go_one_at_a_time_until_slack_refuses_one(
    time: VirtualTime,
) -> None:
    pacer = SlackPacer(clock=time, sleep=time.sleep)
    calls = Calls(pacer, time)
    answers = [asyncio.Event() for _ in range(6)]
    for n in range(6):
        calls.start(f"card{n}", "chat.postMessage", REVIEW, answered=answers[n])
    await settle()
    assert calls.went == ["card0", "card1", "card2"], "the burst, then one call probing Slack"

    answers[2].set()  # Slack took it: the next one probes, no clock involved
    await settle()
    assert calls.went[3:] == ["card3"]

    await pacer.refused("chat.postMessage", REVIEW, 2.0)  # ...but not that one
    answers[3].set()
    await time.advance(1.9)
    assert len(calls.went) == 4, "nothing goes before Retry-After"
    for answered in answers:
        answered.set()
    await time.advance(0.2)
    assert calls.went[4:] == ["card4"]
    await time.advance(1.0)
    assert calls.went[4:] == ["card4", "card5"], "then one a second"

    await time.advance(STRICT_FOR_S)
    for n in range(6, 10):
        calls.start(f"card{n}", "chat.postMessage", REVIEW)
    await settle()
    assert len(calls.went) == 10, "a minute without a 429: past the burst, calls go as answered"

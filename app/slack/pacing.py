"""Pacing the bot's Slack Web API calls within Slack's published rate limits.

Slack limits each method per app and workspace (Tier 2: 20+ a minute, Tier 3:
50+, Tier 4: 100+) and ``chat.postMessage`` to about one message per second
per channel with short bursts; past a limit it answers 429 with Retry-After.
A burst of complaints posts and updates cards far faster than that, so without
pacing most calls would come back 429 and be retried blindly.

``SlackPacer`` keeps one token bucket per method (per method and channel for
``chat.postMessage``), a little under Slack's figures.  A call takes a token
at once when one is there and nobody is waiting; otherwise it queues, most
urgent first and first come, first served within a priority.  A 429 empties
its bucket until Retry-After has passed.

Slack allows short bursts over those rates without saying how long, so by
default a bucket lets calls straight through until Slack refuses one; from
that 429 on it paces at the rates below until a minute has passed without
another.  A few complaints at once then get their cards at once, and a
burst costs a few 429s per bucket, not one per call.  ``strict=True`` paces
from the first call.

Methods a listener calls while Slack waits for an ack (agent lookups,
modals, ephemerals) are left out: an ack must never queue behind cards, and
those calls are few.  Every instance paces on its own: N instances on one
store may together reach N times the rate (see bench/README.md).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from enum import IntEnum


class Priority(IntEnum):
    """Who goes first when calls queue for the same bucket (lowest first)."""

    RETRY = 0  # Slack refused it with 429: it had already waited its turn
    REPLY = 1  # an approved reply on its way to a customer
    URGENT = 2  # the card of an urgent complaint
    NORMAL = 3


@dataclass(frozen=True)
class Limit:
    per_minute: float
    burst: int
    per_channel: bool = False


# Slack's figures (docs.slack.dev, "Rate limits" and each method's page) with
# bursts smaller than Slack tolerates, so a call that waited is not refused.
TIER_3 = Limit(50, 5)
TIER_4 = Limit(100, 10)
POST_MESSAGE = Limit(60, 2, per_channel=True)

LIMITS: Mapping[str, Limit] = {
    "chat.postMessage": POST_MESSAGE,
    "chat.update": TIER_3,
    "chat.delete": TIER_3,
    "chat.scheduleMessage": TIER_3,
    # "Hundreds of requests per minute", Slack says: Tier 4 is the floor of that.
    "chat.getPermalink": TIER_4,
    "conversations.history": TIER_3,
    "conversations.info": TIER_3,
    "conversations.open": TIER_3,
    "conversations.replies": TIER_3,
    "conversations.members": TIER_4,
    "reactions.add": TIER_3,
}

_priority: ContextVar[Priority] = ContextVar("slack_call_priority", default=Priority.NORMAL)


@contextmanager
def call_priority(level: Priority) -> Iterator[None]:
    """Slack calls made inside (in this task and tasks it starts) queue at ``level``."""
    token = _priority.set(level)
    try:
        yield
    finally:
        _priority.reset(token)


def current_priority() -> Priority:
    return _priority.get()


Waiter = tuple[int, int, asyncio.Future[None]]
_EPSILON = 1e-9
# How long a bucket keeps pacing after Slack's last 429 (Slack counts per minute).
STRICT_FOR_S = 60.0


class _Bucket:
    def __init__(self, limit: Limit, *, speed: float, now: float, strict: bool) -> None:
        self.rate = limit.per_minute / 60 * speed  # tokens per second
        self.burst = float(limit.burst)
        self.tokens = self.burst
        self.stamp = now
        self.paused_until = now
        # Paced until then; before it (or forever when strict) calls take tokens.
        self.strict_until = float("inf") if strict else float("-inf")
        self.waiters: list[Waiter] = []
        self.drainer: asyncio.Task[None] | None = None

    def wait_s(self, now: float) -> float:
        """Seconds until a token may be taken (0: now)."""
        self.tokens = min(self.burst, self.tokens + max(0.0, now - self.stamp) * self.rate)
        self.stamp = now
        wait = max(0.0, self.paused_until - now)
        # Float refills land a hair under 1: that is a whole token, not a 1e-16 s wait.
        if now < self.strict_until and self.tokens < 1 - _EPSILON:
            wait = max(wait, (1 - self.tokens) / self.rate)
        return wait

    def take(self) -> None:
        self.tokens = max(0.0, self.tokens - 1)


class SlackPacer:
    """Token buckets for one Slack app in one workspace, shared by all of the bot's clients."""

    def __init__(
        self,
        *,
        limits: Mapping[str, Limit] = LIMITS,
        strict: bool = False,
        speed: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """``speed`` multiplies every rate and shortens every wait (tests play minutes fast)."""
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._limits = limits
        self._strict = strict
        self._speed = speed
        self._clock = clock
        self._sleep = sleep
        self._buckets: dict[tuple[str, str | None], _Bucket] = {}
        self._order = itertools.count()

    def limit_of(self, method: str) -> Limit | None:
        """The limit a method is paced at, or None when it is never paced."""
        return self._limits.get(method)

    @property
    def queued(self) -> int:
        """Calls waiting for their turn, all buckets together."""
        return sum(len(b.waiters) for b in self._buckets.values())

    async def turn(self, method: str, channel: str | None, priority: Priority) -> None:
        """Return when the call may go to Slack."""
        bucket = self._bucket(method, channel)
        if bucket is None:
            return
        if not bucket.waiters and bucket.wait_s(self._clock()) == 0:
            bucket.take()
            return
        called: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(bucket.waiters, (int(priority), next(self._order), called))
        if bucket.drainer is None:
            bucket.drainer = asyncio.create_task(self._drain(bucket))
        try:
            await called
        except asyncio.CancelledError:
            # The drainer skips a cancelled caller; with nobody left it stops (a stopping bot).
            if bucket.drainer is not None and all(f.done() for _, _, f in bucket.waiters):
                bucket.drainer.cancel()
            raise

    async def refused(self, method: str, channel: str | None, retry_after_s: float) -> None:
        """Slack answered 429: nothing goes to that bucket before Retry-After, then it is paced."""
        bucket = self._bucket(method, channel)
        if bucket is None:
            # Not paced: this call alone waits, as slack_sdk's own retry would.
            await self._sleep(retry_after_s)
            return
        now = self._clock()
        bucket.tokens = 0.0
        bucket.paused_until = max(bucket.paused_until, now + retry_after_s)
        bucket.strict_until = max(
            bucket.strict_until, now + retry_after_s + STRICT_FOR_S / self._speed
        )

    def _bucket(self, method: str, channel: str | None) -> _Bucket | None:
        limit = self._limits.get(method)
        if limit is None:
            return None
        key = (method, channel if limit.per_channel else None)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(
                limit, speed=self._speed, now=self._clock(), strict=self._strict
            )
        return bucket

    async def _drain(self, bucket: _Bucket) -> None:
        """Hand out tokens to the queued calls of one bucket as they come in."""
        try:
            while bucket.waiters:
                wait = bucket.wait_s(self._clock())
                if wait > 0:
                    await self._sleep(wait)
                    continue
                _, _, called = heapq.heappop(bucket.waiters)
                if called.done():
                    continue
                bucket.take()
                called.set_result(None)
        finally:
            bucket.drainer = None

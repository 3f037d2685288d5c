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

Slack allows short bursts over those rates without saying how long.  So by
default a bucket that has run out of tokens still lets calls through, one
at a time (each waits for the previous one's answer), until Slack refuses
one; from that 429 on the bucket paces at the rates below until a minute has
passed without another.  A few complaints at once get their cards at once,
and a burst costs about one 429 per bucket, not one per call.
``strict=True`` paces from the first call.

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
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
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


_EPSILON = 1e-9
# How long a bucket keeps pacing after Slack's last 429 (Slack counts per minute).
STRICT_FOR_S = 60.0
_TOKEN, _PROBE = "token", "probe"


class _Bucket:
    def __init__(self, limit: Limit, *, speed: float, now: float, strict: bool) -> None:
        self.rate = limit.per_minute / 60 * speed  # tokens per second
        self.burst = float(limit.burst)
        self.tokens = self.burst
        self.stamp = now
        self.paused_until = now
        # Paced until then (for ever when strict); before, calls past the tokens probe Slack.
        self.strict_until = float("inf") if strict else float("-inf")
        self.probing = False  # a call past the tokens is waiting for Slack's answer
        self.probe_done = asyncio.Event()
        self.waiters: list[tuple[int, int, asyncio.Future[str]]] = []
        self.drainer: asyncio.Task[None] | None = None

    def wait_s(self, now: float) -> float:
        """Seconds before a call may be let through, by the clock (0: now)."""
        if now > self.stamp:
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
        wait = max(0.0, self.paused_until - now)
        # Float refills land a hair under 1: that is a whole token, not a 1e-16 s wait.
        if now < self.strict_until and self.tokens < 1 - _EPSILON:
            wait = max(wait, (1 - self.tokens) / self.rate)
        return wait

    def grant(self, now: float) -> str | None:
        """Let one call through if the clock allows: on a token, or as the one probe."""
        if self.wait_s(now) > 0:
            return None
        if self.tokens >= 1 - _EPSILON:
            self.tokens = max(0.0, self.tokens - 1)
            return _TOKEN
        if now >= self.strict_until and not self.probing:
            self.probing = True
            self.probe_done.clear()
            return _PROBE
        return None

    def release(self, grant: str) -> None:
        if grant == _PROBE:
            self.probing = False
            self.probe_done.set()


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

    @asynccontextmanager
    async def slot(
        self, method: str, channel: str | None, priority: Priority
    ) -> AsyncIterator[None]:
        """Wait for the call's turn; the call runs inside, and ``refused`` is told of a 429."""
        bucket = self._bucket(method, channel)
        if bucket is None:
            yield
            return
        grant = await self._turn(bucket, priority)
        try:
            yield
        finally:
            bucket.release(grant)

    async def refused(self, method: str, channel: str | None, retry_after_s: float) -> None:
        """Slack answered 429: nothing goes to that bucket before Retry-After, then it is paced."""
        bucket = self._bucket(method, channel)
        if bucket is None:
            # Not paced: this call alone waits, as slack_sdk's own retry would.
            await self._sleep(retry_after_s)
            return
        now = self._clock()
        bucket.paused_until = max(bucket.paused_until, now + retry_after_s)
        # Slack is out of tokens: one is back at Retry-After, the next a period later.
        bucket.tokens = 0.0
        bucket.stamp = max(now, bucket.paused_until - 1 / bucket.rate)
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

    async def _turn(self, bucket: _Bucket, priority: Priority) -> str:
        if not bucket.waiters:
            grant = bucket.grant(self._clock())
            if grant is not None:
                return grant
        called: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        heapq.heappush(bucket.waiters, (int(priority), next(self._order), called))
        if bucket.drainer is None:
            bucket.drainer = asyncio.create_task(self._drain(bucket))
        try:
            return await called
        except asyncio.CancelledError:
            if called.done() and not called.cancelled():
                bucket.release(called.result())  # let through, but the caller is gone
            # The drainer skips a cancelled caller; with nobody left it stops (a stopping bot).
            if bucket.drainer is not None and all(f.done() for _, _, f in bucket.waiters):
                bucket.drainer.cancel()
            raise

    async def _drain(self, bucket: _Bucket) -> None:
        """Let the queued calls of one bucket through as the clock and Slack allow."""
        try:
            while bucket.waiters:
                if bucket.waiters[0][2].done():
                    heapq.heappop(bucket.waiters)
                    continue
                now = self._clock()
                wait = bucket.wait_s(now)
                if wait > 0:
                    await self._sleep(wait)
                    continue
                grant = bucket.grant(now)
                if grant is None:
                    await bucket.probe_done.wait()
                    continue
                _, _, called = heapq.heappop(bucket.waiters)
                called.set_result(grant)
        finally:
            bucket.drainer = None

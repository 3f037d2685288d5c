"""Slack's published Web API rate limits, as ``FakeSlack(rate_limits=True)`` enforces them.

Slack limits each method per app and workspace, in tiers (docs.slack.dev,
"Rate limits"): Tier 1 1+ per minute, Tier 2 20+, Tier 3 50+ ("sporadic
bursts are welcome"), Tier 4 100+ ("generous burst behavior"), and a special
tier for ``chat.postMessage``: about one message per second per channel,
short bursts allowed.  Beyond a limit Slack answers HTTP 429 with
``Retry-After`` (whole seconds) and ``{"ok": false, "error": "ratelimited"}``.

Each limit is a token bucket (``burst`` tokens, refilled at the tier's rate),
one per method, and one per (method, channel) for ``chat.postMessage``.  A
refused call takes no token.  Slack does not publish its burst sizes: the
ones below are this fake's guess, generous for Tier 4 and tight for
``chat.postMessage``, and the point of the fake is that a bot which bursts
past the published rates gets 429s, as it would from Slack.

``speed`` multiplies every rate (not the bursts), so a test can play a minute
of Slack in a few seconds; ``clock`` is any monotonic clock in seconds.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Tier:
    name: str
    per_minute: float
    burst: int
    per_channel: bool = False


TIER_1 = Tier("tier 1", 1, 2)
TIER_2 = Tier("tier 2", 20, 5)
TIER_3 = Tier("tier 3", 50, 15)
TIER_4 = Tier("tier 4", 100, 30)
POST_MESSAGE = Tier("special: 1 per second per channel", 60, 3, per_channel=True)
# "Special" methods Slack says allow "hundreds of requests per minute": Tier 4 is the floor of that.
HUNDREDS = Tier("special: hundreds per minute", 100, 30)

# From each method's reference page on docs.slack.dev.
METHOD_TIERS: Mapping[str, Tier] = {
    "apps.connections.open": TIER_1,
    "auth.test": HUNDREDS,
    "chat.delete": TIER_3,
    "chat.getPermalink": HUNDREDS,
    "chat.postEphemeral": TIER_4,
    "chat.postMessage": POST_MESSAGE,
    "chat.scheduleMessage": TIER_3,
    "chat.update": TIER_3,
    "conversations.history": TIER_3,
    "conversations.info": TIER_3,
    "conversations.members": TIER_4,
    "conversations.open": TIER_3,
    "conversations.replies": TIER_3,
    "reactions.add": TIER_3,
    "usergroups.users.list": TIER_2,
    "users.info": TIER_4,
    "views.open": TIER_4,
    "views.publish": TIER_4,
    "views.update": TIER_4,
}


class _Bucket:
    def __init__(self, tier: Tier, *, speed: float, now: float) -> None:
        self.rate = tier.per_minute / 60 * speed  # tokens per second
        self.burst = float(tier.burst)
        self.tokens = self.burst
        self.stamp = now

    def take(self, now: float) -> float:
        """0 when a token was taken, else the seconds until one will be there."""
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1 - 1e-9:  # float refills land a hair under a whole token
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class SlackRateLimits:
    """Decides, call by call, whether Slack would take it or answer 429."""

    def __init__(
        self,
        *,
        speed: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        tiers: Mapping[str, Tier] = METHOD_TIERS,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._clock = clock
        self._tiers = tiers
        self._buckets: dict[tuple[str, str | None], _Bucket] = {}

    def tier_of(self, method: str) -> Tier | None:
        return self._tiers.get(method)

    def retry_after(self, method: str, args: Mapping[str, Any]) -> int | None:
        """None when the call is within the limits (and counted), else Retry-After in seconds."""
        tier = self._tiers.get(method)
        if tier is None:
            return None
        channel = str(args.get("channel") or "") if tier.per_channel else None
        now = self._clock()
        bucket = self._buckets.get((method, channel))
        if bucket is None:
            bucket = self._buckets[(method, channel)] = _Bucket(tier, speed=self.speed, now=now)
        wait = bucket.take(now)
        # Slack's Retry-After is whole seconds, never 0.
        return None if wait == 0 else max(1, math.ceil(wait))

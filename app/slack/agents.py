"""Who may act on a card: listed agents from our own workspace, never outsiders.

``TACTFUL_AGENTS`` holds user IDs and/or user-group IDs.  A user from
another workspace (Slack Connect) is refused even when listed: the team id in
the payload and ``users.info`` (``is_stranger``, ``team_id``) must both say
they are ours.  Lookups are cached briefly so a busy review channel does not
hit Slack on every click.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = structlog.get_logger(__name__)

CACHE_S = 300.0
V = TypeVar("V")


@dataclass
class AgentDirectory:
    client: AsyncWebClient
    allowed: list[str]
    home_team_id: str | None = None
    _users: dict[str, tuple[float, dict[str, object] | None]] = field(default_factory=dict)
    _groups: dict[str, tuple[float, set[str]]] = field(default_factory=dict)

    async def is_agent(self, user_id: str, *, team_id: str | None = None) -> bool:
        if team_id and self.home_team_id and team_id != self.home_team_id:
            return False
        user = await self._user(user_id)
        if user is None or not self._internal(user):
            return False
        if user_id in self.allowed:
            return True
        for group_id in (g for g in self.allowed if g.startswith("S")):
            if user_id in await self._group_members(group_id):
                return True
        return False

    async def warm(self) -> None:
        """Load the agent groups once at start, so the first events need no lookup."""
        for group_id in (g for g in self.allowed if g.startswith("S")):
            await self._group_members(group_id)

    def _internal(self, user: dict[str, object]) -> bool:
        if user.get("is_stranger"):
            return False
        team = user.get("team_id")
        return not (self.home_team_id and team and team != self.home_team_id)

    async def _user(self, user_id: str) -> dict[str, object] | None:
        async def fetch() -> dict[str, object]:
            return dict((await self.client.users_info(user=user_id))["user"])

        return await _cached(self._users, user_id, fetch, None)

    async def _group_members(self, group_id: str) -> set[str]:
        async def fetch() -> set[str]:
            response = await self.client.usergroups_users_list(usergroup=group_id)
            return set(response.get("users") or [])

        return await _cached(self._groups, group_id, fetch, set())


async def _cached(
    cache: dict[str, tuple[float, V]], key: str, fetch: Callable[[], Awaitable[V]], default: V
) -> V:
    """A Slack lookup kept for CACHE_S; a failed lookup answers ``default`` and is not kept."""
    hit = cache.get(key)
    if hit and time.monotonic() - hit[0] < CACHE_S:
        return hit[1]
    try:
        value = await fetch()
    except SlackApiError as exc:
        log.warning("slack_lookup_failed", key=key, error=exc.response.get("error"))
        return default
    cache[key] = (time.monotonic(), value)
    return value

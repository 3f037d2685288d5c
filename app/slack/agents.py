"""Who may act on a card: listed agents from our own workspace, never outsiders.

``TACTFUL_AGENTS`` holds user IDs and/or user-group IDs.  A user from
another workspace (Slack Connect) is refused even when listed: the team id in
the payload and ``users.info`` (``is_stranger``, ``team_id``) must both say
they are ours.  Lookups are cached briefly so a busy review channel does not
hit Slack on every click.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = structlog.get_logger(__name__)

CACHE_S = 300.0


@dataclass
class AgentDirectory:
    client: AsyncWebClient
    allowed: list[str]
    home_team_id: str | None = None
    _users: dict[str, tuple[float, dict[str, object]]] = field(default_factory=dict)
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

    async def is_internal(self, user_id: str) -> bool:
        """A full member of our own workspace (not a guest from a customer's)."""
        user = await self._user(user_id)
        return user is not None and self._internal(user)

    def _internal(self, user: dict[str, object]) -> bool:
        if user.get("is_stranger"):
            return False
        team = user.get("team_id")
        return not (self.home_team_id and team and team != self.home_team_id)

    async def _user(self, user_id: str) -> dict[str, object] | None:
        cached = self._users.get(user_id)
        if cached and time.monotonic() - cached[0] < CACHE_S:
            return cached[1]
        try:
            response = await self.client.users_info(user=user_id)
        except SlackApiError as exc:
            log.warning("users_info_failed", user=user_id, error=exc.response.get("error"))
            return None
        user = dict(response["user"])
        self._users[user_id] = (time.monotonic(), user)
        return user

    async def _group_members(self, group_id: str) -> set[str]:
        cached = self._groups.get(group_id)
        if cached and time.monotonic() - cached[0] < CACHE_S:
            return cached[1]
        try:
            response = await self.client.usergroups_users_list(usergroup=group_id)
        except SlackApiError as exc:
            log.warning("usergroup_lookup_failed", group=group_id, error=exc.response.get("error"))
            return set()
        members = set(response.get("users") or [])
        self._groups[group_id] = (time.monotonic(), members)
        return members

    async def display_name(self, user_id: str) -> str | None:
        user = await self._user(user_id)
        if not user:
            return None
        profile = user.get("profile")
        if isinstance(profile, dict) and profile.get("display_name"):
            return str(profile["display_name"])
        return str(user.get("real_name") or user.get("name") or "") or None

"""The state behind the fake Slack: users, groups, channels, messages, views.

Kept apart from the HTTP layer so a method handler is a plain function of
(workspace, args).  Messages are dicts shaped like the ones Slack returns;
timestamps come from one increasing counter so a posted reply always sorts
after everything seeded before it.
"""

from __future__ import annotations

import base64
import binascii
import itertools
from collections import defaultdict
from typing import Any

Message = dict[str, Any]

_FIRST_TS_MICROS = 1_700_000_000_000_100
_TS_STEP_MICROS = 100


def ts_to_micros(ts: str) -> int:
    seconds, _, fraction = ts.partition(".")
    return int(seconds) * 1_000_000 + int((fraction or "0").ljust(6, "0")[:6])


def micros_to_ts(micros: int) -> str:
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def encode_cursor(ts: str) -> str:
    return base64.b64encode(f"next_ts:{ts}".encode()).decode()


def decode_cursor(cursor: str) -> str | None:
    """The ts a cursor points at, or None when it is not one of ours."""
    try:
        raw = base64.b64decode(cursor.encode(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    prefix, _, ts = raw.partition(":")
    return ts if prefix == "next_ts" and ts else None


class SlackWorkspace:
    """One workspace as the bot sees it."""

    def __init__(
        self,
        *,
        team_id: str,
        bot_user_id: str,
        bot_id: str,
        app_id: str,
        trigger_ttl_s: float | None = 3.0,
    ) -> None:
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        # Slack lets a trigger_id open a modal for 3 s only; None disables the check.
        self.trigger_ttl_s = trigger_ttl_s
        self.users: dict[str, dict[str, Any]] = {}
        self.usergroups: dict[str, list[str]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.messages: defaultdict[str, list[Message]] = defaultdict(list)
        self.ephemerals: list[Message] = []
        self.views: dict[str, dict[str, Any]] = {}
        self.home_tabs: dict[str, dict[str, Any]] = {}
        self.reactions: set[tuple[str, str, str]] = set()
        self._last_ts_micros = _FIRST_TS_MICROS - _TS_STEP_MICROS
        self._view_ids = itertools.count(1)
        self.add_user(bot_user_id, name="tactful", is_bot=True)

    # --- seeding -----------------------------------------------------------

    def next_ts(self) -> str:
        self._last_ts_micros += _TS_STEP_MICROS
        return micros_to_ts(self._last_ts_micros)

    def add_user(
        self,
        user_id: str,
        *,
        name: str = "",
        team_id: str | None = None,
        is_bot: bool = False,
        is_stranger: bool = False,
        is_restricted: bool = False,
    ) -> None:
        name = name or user_id.lower()
        team = team_id or self.team_id
        self.users[user_id] = {
            "id": user_id,
            "team_id": team,
            "name": name,
            "real_name": name.title(),
            "deleted": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "is_admin": False,
            "is_owner": False,
            "is_restricted": is_restricted,
            "is_ultra_restricted": False,
            "is_stranger": is_stranger,
            "tz": "Europe/Paris",
            "profile": {
                "display_name": name,
                "real_name": name.title(),
                "team": team,
            },
        }

    def add_usergroup(self, group_id: str, users: list[str]) -> None:
        self.usergroups[group_id] = list(users)

    def add_channel(
        self,
        channel: str,
        *,
        is_ext_shared: bool = False,
        name: str | None = None,
        members: list[str] | None = None,
    ) -> None:
        self.channels[channel] = {"is_ext_shared": is_ext_shared, "name": name or channel.lower()}
        if members is not None:
            self.channels[channel]["members"] = list(members)

    def channel_members(self, channel: str) -> list[str]:
        """Declared members, else every user of the workspace (an ordinary open channel)."""
        known = self.channels.get(channel, {})
        if "members" in known:
            return list(known["members"])
        return sorted(uid for uid, user in self.users.items() if user["team_id"] == self.team_id)

    def direct_channel(self, user_id: str) -> str:
        """The bot's DM with ``user_id``, as conversations.open names it."""
        channel = "D" + user_id.lstrip("UW")
        self.channels.setdefault(channel, {"is_ext_shared": False, "name": channel.lower(),
                                           "is_im": True, "members": [user_id]})
        return channel

    def add_message(
        self,
        channel: str,
        ts: str,
        text: str,
        *,
        user: str,
        thread_ts: str | None = None,
        bot_id: str | None = None,
    ) -> Message:
        message: Message = {
            "type": "message",
            "user": user,
            "text": text,
            "ts": ts,
            "team": self.team_id,
        }
        if thread_ts is not None:
            message["thread_ts"] = thread_ts
        if bot_id is not None:
            message["bot_id"] = bot_id
        # Keep generated timestamps after anything seeded.
        self._last_ts_micros = max(self._last_ts_micros, ts_to_micros(ts))
        self.messages[channel].append(message)
        return message

    # --- queries -----------------------------------------------------------

    def find_message(self, channel: str, ts: str) -> Message | None:
        for message in self.messages.get(channel, []):
            if message["ts"] == ts:
                return message
        return None

    def thread(self, channel: str, ts: str) -> list[Message]:
        """The parent and its replies in time order; ``ts`` may also be one of the replies."""
        anchor = self.find_message(channel, ts)
        root = anchor.get("thread_ts", ts) if anchor is not None else ts
        found = [
            m
            for m in self.messages.get(channel, [])
            if m["ts"] == root or m.get("thread_ts") == root
        ]
        found.sort(key=lambda m: ts_to_micros(m["ts"]))
        # Only the parent has replies: the others are copied as they are (a thread of
        # thousands of messages stays linear to page through).
        return [self._with_thread_fields(channel, m) if m["ts"] == root else dict(m) for m in found]

    def history(self, channel: str) -> list[Message]:
        """Top-level messages, newest first, like ``conversations.history``."""
        top = [m for m in self.messages.get(channel, []) if m.get("thread_ts") in (None, m["ts"])]
        top.sort(key=lambda m: ts_to_micros(m["ts"]), reverse=True)
        return [self._with_thread_fields(channel, m) for m in top]

    def _with_thread_fields(self, channel: str, message: Message) -> Message:
        replies = [m for m in self.messages.get(channel, []) if m.get("thread_ts") == message["ts"]]
        replies = [m for m in replies if m["ts"] != message["ts"]]
        if not replies:
            return dict(message)
        latest = max(replies, key=lambda m: ts_to_micros(m["ts"]))
        return {
            **message,
            "thread_ts": message["ts"],
            "reply_count": len(replies),
            "reply_users": sorted({str(m.get("user", "")) for m in replies}),
            "latest_reply": latest["ts"],
        }

    def user_object(self, user_id: str) -> dict[str, Any] | None:
        user = self.users.get(user_id)
        return None if user is None else {**user, "profile": dict(user["profile"])}

    def channel_object(self, channel: str) -> dict[str, Any]:
        """Unknown channels are ordinary internal channels: tests only declare the odd ones."""
        known = self.channels.get(channel, {})
        shared = bool(known.get("is_ext_shared", False))
        return {
            "id": channel,
            "name": known.get("name", channel.lower()),
            "is_channel": True,
            "is_group": False,
            "is_im": bool(known.get("is_im", False)),
            "is_private": False,
            "is_archived": False,
            "is_member": True,
            "is_shared": shared,
            "is_ext_shared": shared,
            "is_org_shared": False,
            "context_team_id": self.team_id,
            "created": 1_600_000_000,
        }

    def new_view(self, view: dict[str, Any], *, view_id: str | None = None) -> dict[str, Any]:
        """Store ``view`` as Slack echoes it back: with an id, hash and empty state."""
        view_id = view_id or f"V{next(self._view_ids):08d}"
        stored = {
            "id": view_id,
            "team_id": self.team_id,
            "type": view.get("type", "modal"),
            "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{ts_to_micros(self.next_ts())}.fakehash",
            "title": view.get("title"),
            "clear_on_close": view.get("clear_on_close", False),
            "notify_on_close": view.get("notify_on_close", False),
            "close": view.get("close"),
            "submit": view.get("submit"),
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": self.app_id,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }
        self.views[view_id] = stored
        return stored

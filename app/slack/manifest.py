"""The Slack app manifest a new team pastes into api.slack.com/apps → Create from manifest."""

from __future__ import annotations

from typing import Any

from app.slack.listeners.commands import COMMAND
from app.slack.listeners.shortcuts import DRAFT_SHORTCUT, SUMMARIZE_SHORTCUT

BOT_SCOPES = [
    "app_mentions:read",  # @tactful in a thread
    "channels:history",  # read watched public channels and their threads
    "groups:history",  # …and private ones (the review channel, private support channels)
    "channels:read",
    "groups:read",
    "chat:write",  # cards, replies, ephemeral notes
    "im:write",  # a draft asked for on request goes to the asker's DM with tactful
    "commands",  # /tactful
    "users:read",  # is this clicker an agent of ours, or a Slack Connect guest?
    "usergroups:read",  # TACTFUL_AGENTS may name a user group
]
BOT_EVENTS = ["message.channels", "message.groups", "app_mention", "app_home_opened"]


def build_manifest(
    *, url: str | None = None, socket_mode: bool = False, name: str = "tactful"
) -> dict[str, Any]:
    """Socket Mode needs no public URL; HTTP mode points every request at ``url``/slack/events."""
    endpoint = f"{url.rstrip('/')}/slack/events" if url else "https://YOUR-HOST/slack/events"
    command: dict[str, Any] = {
        "command": COMMAND,
        "description": "Draft a reply or summarize an escalation thread (only you see it)",
        "usage_hint": "draft <customer message> | summarize <message link>",
        "should_escape": False,
    }
    events: dict[str, Any] = {"bot_events": BOT_EVENTS}
    interactivity: dict[str, Any] = {"is_enabled": True}
    if not socket_mode:
        command["url"] = endpoint
        events["request_url"] = endpoint
        interactivity["request_url"] = endpoint
    return {
        "display_information": {
            "name": name,
            "description": "Drafts empathetic replies to customer complaints for an agent to approve.",
            "background_color": "#2c4a6e",
        },
        "features": {
            "app_home": {"home_tab_enabled": True, "messages_tab_enabled": False},
            "bot_user": {"display_name": name, "always_online": True},
            "shortcuts": [
                {
                    "name": "Draft a reply",
                    "type": "message",
                    "callback_id": DRAFT_SHORTCUT,
                    "description": "Draft an empathetic reply to this customer message",
                },
                {
                    "name": "Summarize for escalation",
                    "type": "message",
                    "callback_id": SUMMARIZE_SHORTCUT,
                    "description": "A brief of this thread for a manager",
                },
            ],
            "slash_commands": [command],
        },
        "oauth_config": {"scopes": {"bot": BOT_SCOPES}},
        "settings": {
            "event_subscriptions": events,
            "interactivity": interactivity,
            "org_deploy_enabled": False,
            "socket_mode_enabled": socket_mode,
            "token_rotation_enabled": False,
        },
    }

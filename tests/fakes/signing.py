"""Signed requests as Slack sends them to ``POST /slack/events``.

``sign`` computes the v0 signature headers; the ``*_body`` builders return
``(body, headers)`` ready to send (or to hand to Bolt's ``AsyncBoltRequest``):
events as JSON, interactive payloads as the form field ``payload=<json>``,
slash commands as a plain form.  Payload shapes follow docs.slack.dev
(block_actions, view_submission, message_action, slash command fields).

Trigger ids made here start with their issue time in milliseconds, which lets
``FakeSlack`` refuse a ``views.open`` that comes more than 3 s later, as Slack does.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import Any
from urllib.parse import urlencode

SIGNING_SECRET = "test-signing-secret"
TEAM_ID = "T0AGENTS"
APP_ID = "A1"
BOT_USER_ID = "UBOT"
# A closed local port: a response_url nobody passed fails fast instead of leaving the machine.
UNSET_RESPONSE_URL = "http://127.0.0.1:9/hooks/unset"

Signed = tuple[bytes, dict[str, str]]
_counter = itertools.count(1)


def sign(body: bytes | str, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """``X-Slack-Request-Timestamp`` and ``X-Slack-Signature`` (v0 HMAC-SHA256) for ``body``."""
    ts = int(time.time()) if timestamp is None else timestamp
    raw = body if isinstance(body, bytes) else body.encode()
    base = f"v0:{ts}:".encode() + raw
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": f"v0={digest}"}


def new_trigger_id() -> str:
    """``<issued ms>.<n>.<hex>``, shaped like Slack's ``12345.98765.abcd2358fdea``."""
    n = next(_counter)
    return f"{int(time.time() * 1000)}.{n}.{hashlib.sha1(str(n).encode()).hexdigest()[:12]}"


def _signed(body: str, content_type: str, secret: str, timestamp: int | None) -> Signed:
    headers = {"Content-Type": content_type, **sign(body, secret, timestamp)}
    return body.encode(), headers


def _interactive(payload: dict[str, Any], secret: str, timestamp: int | None) -> Signed:
    body = urlencode({"payload": json.dumps(payload)})
    return _signed(body, "application/x-www-form-urlencoded", secret, timestamp)


def _user(user_id: str, team_id: str) -> dict[str, Any]:
    return {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": team_id}


def message_event(
    channel: str,
    text: str,
    *,
    user: str,
    ts: str,
    thread_ts: str | None = None,
    user_team: str = TEAM_ID,
    mention: bool = False,
) -> dict[str, Any]:
    """A ``message`` event (or ``app_mention`` with ``mention``) as it sits in an event_callback.

    ``user_team`` other than the workspace's marks a Slack Connect (external) author.
    """
    event: dict[str, Any] = {
        "type": "app_mention" if mention else "message",
        "channel": channel,
        "user": user,
        "text": text,
        "ts": ts,
        "event_ts": ts,
        "team": user_team,
        "user_team": user_team,
        "source_team": user_team,
        "channel_type": "channel",
        "client_msg_id": f"fake-{ts}",
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    return event


def event_callback_body(
    event: dict[str, Any],
    *,
    event_id: str,
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
    bot_user_id: str = BOT_USER_ID,
    is_ext_shared_channel: bool = False,
    retry_num: int | None = None,
    retry_reason: str = "http_timeout",
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
) -> Signed:
    """An Events API ``event_callback``; ``retry_num`` adds Slack's retry headers."""
    payload = {
        "token": "verification-token-unused",
        "team_id": team_id,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": is_ext_shared_channel,
        "event_context": f"4-fake-{event_id}",
    }
    body, headers = _signed(json.dumps(payload), "application/json", secret, timestamp)
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = retry_reason
    return body, headers


def block_actions_body(
    *,
    action_id: str,
    user_id: str,
    channel_id: str,
    message_ts: str,
    value: str | None = None,
    block_id: str = "actions",
    selected_option: str | None = None,
    message: dict[str, Any] | None = None,
    ephemeral: bool = False,
    team_id: str = TEAM_ID,
    user_team_id: str | None = None,
    api_app_id: str = APP_ID,
    trigger_id: str | None = None,
    response_url: str = UNSET_RESPONSE_URL,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
) -> Signed:
    """A click on a button (or a choice in a select when ``selected_option`` is set) in a message.

    Pass the posted message (e.g. ``fake.messages[channel][-1]``) as ``message`` so
    the app sees its own blocks; ephemeral messages arrive without one, as in Slack.
    """
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block_id,
        "type": "button",
        "action_ts": f"{time.time():.6f}",
    }
    if selected_option is not None:
        option = {"text": {"type": "plain_text", "text": selected_option}, "value": selected_option}
        action.update(type="static_select", selected_option=option)
    else:
        action.update(text={"type": "plain_text", "text": action_id}, value=value or "")
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user_id, user_team_id or team_id),
        "api_app_id": api_app_id,
        "token": "verification-token-unused",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": ephemeral,
        },
        "trigger_id": trigger_id or new_trigger_id(),
        "team": {"id": team_id, "domain": "fake-support"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": channel_id.lower()},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [action],
    }
    if not ephemeral:
        payload["message"] = message or {
            "type": "message",
            "ts": message_ts,
            "text": "",
            "blocks": [],
        }
    return _interactive(payload, secret, timestamp)


def plain_text_values(fields: dict[str, dict[str, str | None]]) -> dict[str, Any]:
    """``{block_id: {action_id: text}}`` -> the ``view.state.values`` of text inputs."""
    return {
        block_id: {
            action_id: {"type": "plain_text_input", "value": text}
            for action_id, text in actions.items()
        }
        for block_id, actions in fields.items()
    }


def view_submission_body(
    view: dict[str, Any],
    *,
    user_id: str,
    values: dict[str, Any] | None = None,
    view_id: str | None = None,
    team_id: str = TEAM_ID,
    user_team_id: str | None = None,
    api_app_id: str = APP_ID,
    bot_id: str = "B0BOT",
    trigger_id: str | None = None,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
) -> Signed:
    """The submission of ``view`` (as sent to views.open, or as ``fake.views[id]``) with ``values``.

    ``values`` is the ``state.values`` mapping; ``plain_text_values`` builds it for text inputs.
    """
    the_id = view_id or str(view.get("id") or "V0FAKEVIEW")
    submitted = {
        "id": the_id,
        "team_id": team_id,
        "type": view.get("type", "modal"),
        "blocks": view.get("blocks", []),
        "private_metadata": view.get("private_metadata", ""),
        "callback_id": view.get("callback_id", ""),
        "state": {"values": values or {}},
        "hash": view.get("hash", "1700000000.fakehash"),
        "title": view.get("title", {"type": "plain_text", "text": "tactful"}),
        "clear_on_close": view.get("clear_on_close", False),
        "notify_on_close": view.get("notify_on_close", False),
        "close": view.get("close"),
        "submit": view.get("submit"),
        "previous_view_id": None,
        "root_view_id": the_id,
        "app_id": api_app_id,
        "external_id": view.get("external_id", ""),
        "app_installed_team_id": team_id,
        "bot_id": bot_id,
    }
    payload = {
        "type": "view_submission",
        "team": {"id": team_id, "domain": "fake-support"},
        "user": _user(user_id, user_team_id or team_id),
        "api_app_id": api_app_id,
        "token": "verification-token-unused",
        "trigger_id": trigger_id or new_trigger_id(),
        "view": submitted,
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return _interactive(payload, secret, timestamp)


def message_shortcut_body(
    *,
    callback_id: str,
    user_id: str,
    channel_id: str,
    message: dict[str, Any],
    team_id: str = TEAM_ID,
    user_team_id: str | None = None,
    api_app_id: str = APP_ID,
    trigger_id: str | None = None,
    response_url: str = UNSET_RESPONSE_URL,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
) -> Signed:
    """A message shortcut (``message_action``) on ``message`` (needs ``ts`` and ``text``)."""
    payload = {
        "type": "message_action",
        "token": "verification-token-unused",
        "action_ts": f"{time.time():.6f}",
        "team": {"id": team_id, "domain": "fake-support"},
        "user": _user(user_id, user_team_id or team_id),
        "channel": {"id": channel_id, "name": channel_id.lower()},
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": callback_id,
        "trigger_id": trigger_id or new_trigger_id(),
        "response_url": response_url,
        "message_ts": message["ts"],
        "message": {"type": "message", **message},
    }
    return _interactive(payload, secret, timestamp)


def slash_command_body(
    command: str,
    text: str,
    user_id: str,
    channel_id: str,
    trigger_id: str | None = None,
    *,
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
    response_url: str = UNSET_RESPONSE_URL,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
) -> Signed:
    """A slash command, form-encoded with the fields Slack sends."""
    fields = {
        "token": "verification-token-unused",
        "team_id": team_id,
        "team_domain": "fake-support",
        "channel_id": channel_id,
        "channel_name": channel_id.lower(),
        "user_id": user_id,
        "user_name": user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": api_app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or new_trigger_id(),
    }
    return _signed(urlencode(fields), "application/x-www-form-urlencoded", secret, timestamp)

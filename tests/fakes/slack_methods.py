"""The Slack Web API methods tactful calls, each a function of (workspace, args) -> response body.

Responses follow the shapes documented on docs.slack.dev closely enough for
slack_sdk and Bolt; errors use Slack's own codes (``message_not_found``,
``cant_update_message``, ``invalid_blocks``...) so the bot's error handling is
exercised for real.  Read methods are lenient about things tests rarely seed
(an unknown channel is an ordinary channel); write methods are strict.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from .slack_blocks import check_message, check_view
from .slack_workspace import Message, SlackWorkspace, decode_cursor, encode_cursor, ts_to_micros

Response = dict[str, Any]
Handler = Callable[[SlackWorkspace, dict[str, Any]], Response]

PERMALINK_BASE = "https://fake.slack.test/archives"


def error(code: str, *messages: str) -> Response:
    body: Response = {"ok": False, "error": code}
    if messages:
        body["response_metadata"] = {"messages": [f"[ERROR] {m}" for m in messages]}
    return body


def _missing(args: dict[str, Any], *names: str) -> Response | None:
    absent = [n for n in names if not args.get(n)]
    if not absent:
        return None
    return error("invalid_arguments", *(f"missing required field: {n}" for n in absent))


def _int_arg(args: dict[str, Any], name: str, default: int, ceiling: int) -> int:
    try:
        value = int(args.get(name) or default)
    except (TypeError, ValueError):
        value = default
    return max(1, min(value, ceiling))


def _page(
    items: list[Message], args: dict[str, Any], *, default_limit: int, descending: bool
) -> Response:
    """One cursor page of ``items`` (already sorted), as Slack's cursor pagination returns it."""
    limit = _int_arg(args, "limit", default_limit, 1000)
    start = 0
    cursor = args.get("cursor")
    if cursor:
        cursor_ts = decode_cursor(str(cursor))
        if cursor_ts is None:
            return error("invalid_cursor")
        mark = ts_to_micros(cursor_ts)
        start = next(
            (
                i
                for i, m in enumerate(items)
                if (ts_to_micros(m["ts"]) <= mark if descending else ts_to_micros(m["ts"]) >= mark)
            ),
            len(items),
        )
    page = items[start : start + limit]
    rest = items[start + limit :]
    return {
        "ok": True,
        "messages": page,
        "has_more": bool(rest),
        "response_metadata": {"next_cursor": encode_cursor(rest[0]["ts"]) if rest else ""},
    }


# --- auth, chat --------------------------------------------------------------


def auth_test(ws: SlackWorkspace, args: dict[str, Any]) -> Response:
    return {
        "ok": True,
        "url": "https://fake.slack.test/",
        "team": "Fake Support Team",
        "user": "tactful",
        "team_id": ws.team_id,
        "user_id": ws.bot_user_id,
        "bot_id": ws.bot_id,
        "is_enterprise_install": False,
    }


def _bad_message(args: dict[str, Any], *required: str) -> Response | None:
    """Slack's answer to a message with a required field missing or over a limit, else None."""
    missing = _missing(args, *required)
    if missing is not None:
        return missing
    refusal = check_message(args)
    return None if refusal is None else refusal.body()


def _message_fields(args: dict[str, Any]) -> Message:
    return {k: args[k] for k in ("text", "blocks", "attachments", "metadata") if k in args}


def chat_post_message(ws: SlackWorkspace, args: dict[str, Any]) -> Response:
    channel = args.get("channel")
    if not channel:
        return error("channel_not_found")
    refusal = check_message(args)
    if refusal is not None:
        return refusal.body()
    message: Message = {
        "type": "message",
        "user": ws.bot_user_id,
        "bot_id": ws.bot_id,
        "app_id": ws.app_id,
        "text": "",
        **_message_fields(args),
        "ts": ws.next_ts(),
        "team": ws.team_id,
    }
    thread_ts = args.get("thread_ts")
    if thread_ts:
        message["thread_ts"] = str(thread_ts)
        parent = ws.find_message(channel, str(thread_ts))
        if parent is not None:
            message["parent_user_id"] = parent.get("user")
    ws.messages[channel].append(message)
    return {"ok": True, "channel": channel, "ts": message["ts"], "message": dict(message)}


class _Refused(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__(response.get("error"))
        self.response = response


def _own_message(ws: SlackWorkspace, args: dict[str, Any], refused: str) -> Message:
    """The bot's own message at (channel, ts); raises ``_Refused`` with Slack's error otherwise."""
    missing = _missing(args, "channel", "ts")
    if missing is not None:
        raise _Refused(missing)
    message = ws.find_message(str(args["channel"]), str(args["ts"]))
    if message is None:
        raise _Refused(error("message_not_found"))
    if message.get("bot_id") != ws.bot_id:
        raise _Refused(error(refused))
    return message


def chat_update(ws: SlackWorkspace, args: dict[str, Any]) -> Response:
    try:
        found = _own_message(ws, args, "cant_update_message")
    except _Refused as refused:
        return refused.response
    refusal = check_message(args)
    if refusal is not None:
        return refusal.body()
    found.update(_message_fields(args))
    found["edited"] = {"user": ws.bot_user_id, "ts": ws.next_ts()}
    return {
        "ok": True,
        "channel": args["channel"],
        "ts": found["ts"],
        "text": found.get("text", ""),
        "message": dict(found),
    }


def chat_delete(ws: SlackWorkspace, args: dict[str, Any]) -> Response:
    try:
        found = _own_message(ws, args, "cant_delete_message")
    except _Refused as refused:
        return refused.response
    ws.messages[str(args["channel"])].remove(found)
    return {"ok": True, "channel": args["channel"], "ts": found["ts"]}


def chat_post_ephemeral(ws: SlackWorkspace, args: dict[str, Any]) -> Response:
    bad = _bad_message(args, "channel", "user")
    if bad is not None:
        return bad
    ts = ws.next_ts()
    ws.ephemerals.append(
        {
            "channel": args["channel"],
            "user": args["user"],
            "ts": ts,
            "thread_ts": args.get("thread_ts"),
            **_message_fields(args),
        }
    )
    return {"ok": True, "message_ts": ts}


def chat_schedule_message(ws: SlackWorkspace, args: dict[str, Any]) -> Response:
    bad = _bad_message(args, "channel", "post_at")
    if bad is not None:
        return bad
    scheduled_id = f"Q{ws.next_ts().replace('.', '')}"
    return {
        "ok": True,
        "channel": args["channel"],
        "scheduled_message_id": scheduled_id,
        "post_at": int(args["post_at"]),
        "message": {"text": args.get("text", ""), "type": "message", "bot_id": ws.bot_id},
    }


def chat_get_permalink(ws: SlackWorkspace, args: dict[str, Any]) -> Response:
    missing = _missing(args, "channel", "message_ts")
    if missing is not None:
        return missing
    channel, ts = str(args["channel"]), str(args["message_ts"])
    link = f"{PERMALINK_BASE}/{channel}/p{ts.replace('.', '')}"
    message = ws.find_message(channel, ts)
    if message is not None and message.get("thread_ts") not in (None, ts):
        link += f"?thread_ts={message['thread_ts']}&cid={channel}"
    return {"ok": True, "channel": channel, "permalink": link}


# --- conversations, users ------------------------------------------------------


def conversations_replies(ws: SlackWorkspace, args: dict[str, Any]) -> Response:
    missing = _missing(args, "channel", "ts")
    if missing is not None:
        return missing
    thread = ws.thread(str(args["channel"]), str(args["ts"]))
    if not thread:
        return error("thread_not_found")
    return _page(thread, args, default_limit=1000, descending=False)


def conversations_history(ws: SlackWorkspace, args: dict[str, Any]) -> Response:
    missing = _missing(args, "channel")
    if missing is not None:
        return missing
    inclusive = str(args.get("inclusive", "")).lower() in ("1", "true")
    items = ws.history(str(args["channel"]))
    if args.get("oldest"):
        low = ts_to_micros(str(args["oldest"]))
        items = [
            m
            for m in items
            if ts_to_micros(m["ts"]) > low or (inclusive and ts_to_micros(m["ts"]) == low)
        ]
    if args.get("latest"):
        high = ts_to_micros(str(args["latest"]))
        items = [
            m
            for m in items
            if ts_to_micros(m["ts"]) < high or (inclusive and ts_to_micros(m["ts"]) == high)
        ]
    page = _page(items, args, default_limit=100, descending=True)
    if page["ok"]:
        page["pin_count"] = 0
    return page


def conversations_info(ws: SlackWorkspace, args: dict[str, Any]) -> Response:
    if not args.get("channel"):
        return error("channel_not_found")
    return {"ok": True, "channel": ws.channel_object(str(args["channel"]))}


def conversations_members(ws: SlackWorkspace, args: dict[str, Any]) -> Response:
    """Member ids a page at a time; the cursor is the offset, as opaque as Slack's."""
    if not args.get("channel"):
        return error("channel_not_found")
    members = ws.channel_members(str(args["channel"]))
    limit = _int_arg(args, "limit", 100, 1000)
    start = int(str(args.get("cursor") or "0") or 0)
    page = members[start : start + limit]
    more = start + limit < len(members)
    return {
        "ok": True,
        "members": page,
        "response_metadata": {"next_cursor": str(start + limit) if more else ""},
    }


def conversations_open(ws: SlackWorkspace, args: dict[str, Any]) -> Response:
    users = [u for u in str(args.get("users") or "").split(",") if u]
    if len(users) != 1:
        return error("invalid_arguments", "tactful opens one-to-one DMs only")
    if ws.user_object(users[0]) is None:
        return error("user_not_found")
    return {"ok": True, "channel": {"id": ws.direct_channel(users[0])}}


def users_info(ws: SlackWorkspace, args: dict[str, Any]) -> Response:
    user = ws.user_object(str(args.get("user", "")))
    if user is None:
        return error("user_not_found")
    return {"ok": True, "user": user}


def usergroups_users_list(ws: SlackWorkspace, args: dict[str, Any]) -> Response:
    users = ws.usergroups.get(str(args.get("usergroup", "")))
    if users is None:
        return error("no_such_subteam")
    return {"ok": True, "users": list(users)}


def reactions_add(ws: SlackWorkspace, args: dict[str, Any]) -> Response:
    if not args.get("channel") or not args.get("timestamp"):
        return error("no_item_specified")
    if not args.get("name"):
        return error("invalid_name")
    key = (str(args["channel"]), str(args["timestamp"]), str(args["name"]))
    if key in ws.reactions:
        return error("already_reacted")
    ws.reactions.add(key)
    return {"ok": True}


# --- views --------------------------------------------------------------------


def _trigger_expired(trigger_id: str, ttl_s: float | None) -> bool:
    """Trigger ids made by ``signing.new_trigger_id`` start with their issue time in ms."""
    issued = trigger_id.split(".", 1)[0]
    if ttl_s is None or len(issued) != 13 or not issued.isdigit():
        return False
    return time.time() - int(issued) / 1000 > ttl_s


def views_open(ws: SlackWorkspace, args: dict[str, Any]) -> Response:
    trigger = args.get("trigger_id") or args.get("interactivity_pointer")
    if not trigger:
        return error("invalid_arguments", "missing required field: trigger_id")
    if _trigger_expired(str(trigger), ws.trigger_ttl_s):
        return error("expired_trigger_id")
    refusal = check_view(args.get("view"))
    if refusal is not None:
        return refusal.body()
    return {"ok": True, "view": ws.new_view(args["view"])}


def views_update(ws: SlackWorkspace, args: dict[str, Any]) -> Response:
    view_id = args.get("view_id")
    if not view_id and args.get("external_id"):
        view_id = next(
            (v["id"] for v in ws.views.values() if v["external_id"] == args["external_id"]), None
        )
    if not view_id or view_id not in ws.views:
        return error("not_found")
    if args.get("hash") and args["hash"] != ws.views[view_id]["hash"]:
        return error("hash_conflict")
    refusal = check_view(args.get("view"))
    if refusal is not None:
        return refusal.body()
    return {"ok": True, "view": ws.new_view(args["view"], view_id=str(view_id))}


def views_publish(ws: SlackWorkspace, args: dict[str, Any]) -> Response:
    missing = _missing(args, "user_id")
    if missing is not None:
        return missing
    refusal = check_view(args.get("view"))
    if refusal is not None:
        return refusal.body()
    stored = ws.new_view(args["view"])
    ws.home_tabs[str(args["user_id"])] = stored
    return {"ok": True, "view": stored}


METHODS: dict[str, Handler] = {
    "auth.test": auth_test,
    "chat.postMessage": chat_post_message,
    "chat.update": chat_update,
    "chat.delete": chat_delete,
    "chat.postEphemeral": chat_post_ephemeral,
    "chat.getPermalink": chat_get_permalink,
    "chat.scheduleMessage": chat_schedule_message,
    "conversations.replies": conversations_replies,
    "conversations.history": conversations_history,
    "conversations.info": conversations_info,
    "conversations.members": conversations_members,
    "conversations.open": conversations_open,
    "users.info": users_info,
    "usergroups.users.list": usergroups_users_list,
    "reactions.add": reactions_add,
    "views.open": views_open,
    "views.update": views_update,
    "views.publish": views_publish,
}

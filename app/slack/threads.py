"""Reading a Slack thread: every page of ``conversations.replies``, as domain messages."""

from __future__ import annotations

from typing import Any, Literal

from slack_sdk.web.async_client import AsyncWebClient

from app.domain.models import ThreadMessage
from app.slack.agents import AgentDirectory

PAGE = 200


async def thread_messages(
    client: AsyncWebClient, *, channel: str, thread_ts: str, max_messages: int = 1000
) -> list[dict[str, Any]]:
    """All messages of a thread, following ``response_metadata.next_cursor``."""
    messages: list[dict[str, Any]] = []
    cursor: str | None = None
    while len(messages) < max_messages:
        response = await client.conversations_replies(
            channel=channel, ts=thread_ts, limit=PAGE, cursor=cursor, include_all_metadata=True
        )
        messages.extend(response.get("messages") or [])
        cursor = (response.get("response_metadata") or {}).get("next_cursor")
        if not cursor or not response.get("has_more", True):
            break
    return messages[:max_messages]


async def history_before(
    client: AsyncWebClient,
    agents: AgentDirectory,
    *,
    channel: str,
    thread_ts: str,
    before_ts: str,
    keep_last: int = 20,
) -> list[ThreadMessage]:
    """The thread's messages older than ``before_ts``, labelled by who wrote them."""
    raw = await thread_messages(client, channel=channel, thread_ts=thread_ts)
    older = [m for m in raw if float(m.get("ts", "0")) < float(before_ts)][-keep_last:]
    history: list[ThreadMessage] = []
    for message in older:
        text = message.get("text") or ""
        if not text.strip():
            continue
        history.append(
            ThreadMessage(
                author=await author_role(agents, message), text=text, ts=message.get("ts")
            )
        )
    return history


Author = Literal["customer", "agent", "bot"]


async def author_role(agents: AgentDirectory, message: dict[str, Any]) -> Author:
    if message.get("bot_id") or message.get("subtype") == "bot_message":
        return "bot"
    user = message.get("user")
    if user and await agents.is_agent(
        user, team_id=message.get("user_team") or message.get("team")
    ):
        return "agent"
    return "customer"

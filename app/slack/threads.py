"""Reading a Slack thread: every page of ``conversations.replies``, as domain messages."""

from __future__ import annotations

from typing import Any, Literal

from slack_sdk.web.async_client import AsyncWebClient

from app.slack.agents import AgentDirectory

PAGE = 200


async def thread_messages(
    client: AsyncWebClient,
    *,
    channel: str,
    thread_ts: str,
    max_messages: int | None = None,
    oldest: str | None = None,
) -> list[dict[str, Any]]:
    """All messages of a thread, following ``response_metadata.next_cursor``.

    By default every page is read (a brief, a draft's newest history and the
    search for our own reply must never stop short); ``max_messages`` keeps
    the oldest that many; ``oldest`` skips what was posted before that ts.
    """
    messages: list[dict[str, Any]] = []
    cursor: str | None = None
    while max_messages is None or len(messages) < max_messages:
        response = await client.conversations_replies(
            channel=channel, ts=thread_ts, limit=PAGE, cursor=cursor, oldest=oldest,
            include_all_metadata=True,
        )
        messages.extend(response.get("messages") or [])
        cursor = (response.get("response_metadata") or {}).get("next_cursor")
        if not cursor or not response.get("has_more", True):
            break
    return messages if max_messages is None else messages[:max_messages]


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

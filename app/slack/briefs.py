"""Escalation briefs on request: read the whole thread, summarize, answer the asker only."""

from __future__ import annotations

from typing import Any

import structlog
from slack_bolt.async_app import AsyncRespond
from slack_sdk.errors import SlackApiError

from app.domain.models import ThreadMessage
from app.domain.ports import LLMError
from app.slack import blocks
from app.slack.services import Services
from app.slack.threads import author_role, thread_messages

log = structlog.get_logger(__name__)


async def brief_thread(
    services: Services, *, channel: str, thread_ts: str, respond: AsyncRespond
) -> None:
    try:
        raw = await thread_messages(services.client, channel=channel, thread_ts=thread_ts)
    except SlackApiError as exc:
        error = exc.response.get("error")
        hint = (
            " Invite tactful to that channel first."
            if error in ("not_in_channel", "channel_not_found")
            else ""
        )
        await respond(
            text=f"I could not read that thread ({error}).{hint}", response_type="ephemeral"
        )
        return
    thread = [
        ThreadMessage(
            author=await author_role(services.agents, m), text=m.get("text") or "", ts=m.get("ts")
        )
        for m in raw
        if (m.get("text") or "").strip()
    ]
    if not thread:
        await respond(text="That thread has no messages to summarize.", response_type="ephemeral")
        return
    try:
        brief = await services.drafting.briefing.brief(thread)
    except LLMError as exc:
        await respond(text=f"Could not summarize: {exc}", response_type="ephemeral")
        return
    text, brief_blocks = blocks.brief(brief, message_count=len(thread))
    await respond(text=text, blocks=brief_blocks, response_type="ephemeral", replace_original=False)


def parse_permalink(link: str) -> tuple[str, str] | None:
    """`https://x.slack.com/archives/C123/p1700000000000100?thread_ts=…` -> (channel, thread ts)."""
    import re
    from urllib.parse import parse_qs, urlparse

    link = link.strip().strip("<>").split("|", 1)[0]
    match = re.search(r"/archives/([CGD][A-Z0-9]+)/p(\d{10})(\d{6})", link)
    if not match:
        return None
    query: dict[str, Any] = parse_qs(urlparse(link).query)
    thread_ts = (query.get("thread_ts") or [f"{match.group(2)}.{match.group(3)}"])[0]
    return match.group(1), thread_ts

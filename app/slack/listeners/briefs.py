"""Answering a brief request: the asker alone sees the brief, or why there is none."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlparse

from slack_bolt.async_app import AsyncRespond

from app.slack import blocks
from app.slack.deps import ListenerDeps

_ARCHIVES_LINK = re.compile(r"/archives/([CGD][A-Z0-9]+)/p(\d{10})(\d{6})")


async def answer_with_brief(
    deps: ListenerDeps,
    respond: AsyncRespond,
    *,
    channel: str,
    thread_ts: str,
    asker: str | None = None,
) -> None:
    outcome = await deps.desk.brief(channel=channel, thread_ts=thread_ts, asker=asker)
    if outcome.brief is None:
        await respond(text=outcome.problem or "No brief.", response_type="ephemeral")
        return
    text, brief_blocks = blocks.brief(outcome.brief, message_count=outcome.message_count)
    await respond(text=text, blocks=brief_blocks, response_type="ephemeral", replace_original=False)


def parse_permalink(link: str) -> tuple[str, str] | None:
    """`https://x.slack.com/archives/C123/p1700000000000100?thread_ts=…` -> (channel, thread ts)."""
    link = link.strip().strip("<>").split("|", 1)[0]
    match = _ARCHIVES_LINK.search(link)
    if not match:
        return None
    query: dict[str, Any] = parse_qs(urlparse(link).query)
    thread_ts = (query.get("thread_ts") or [f"{match.group(2)}.{match.group(3)}"])[0]
    return match.group(1), thread_ts

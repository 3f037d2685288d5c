"""Escalation briefs: every way to ask starts the same work; the brief's buttons share or refresh it.

The ask is acked at once with where the brief will arrive (the asker's
direct messages with tactful, private); the reading and the model calls run
after the ack.  The agent guard has already refused anyone who is not an
agent of this workspace, Slack Connect guests included.
"""

from __future__ import annotations

import re
from typing import Any, Literal
from urllib.parse import parse_qs, urlparse

import structlog
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from app.slack.brief_blocks import REFRESH, SEND_TO_REVIEW, SHARE_IN_THREAD
from app.slack.deps import ListenerDeps
from app.usecases.ports import SlackFailure

log = structlog.get_logger(__name__)

_ARCHIVES_LINK = re.compile(r"/archives/([CGD][A-Z0-9]+)/p(\d{10})(\d{6})")
WORKING = (
    "Reading the thread for an escalation brief; it will arrive in your direct messages "
    "with me, where only you can see it."
)


def start_brief(
    deps: ListenerDeps,
    *,
    channel: str,
    thread_ts: str,
    asker: str,
    check_member: bool,
    refresh: bool = False,
) -> None:
    """Brief the thread after the ack; ``check_member`` when the asker named it by a link."""

    async def work() -> None:
        try:
            await deps.desk.brief.ask(
                channel=channel, thread_ts=thread_ts, asker=asker,
                check_member=check_member, refresh=refresh,
            )
        except SlackFailure as exc:
            log.warning("brief_not_delivered", error=exc.error, channel=channel)

    deps.background.spawn(work())


def parse_permalink(link: str) -> tuple[str, str] | None:
    """`https://x.slack.com/archives/C123/p1700000000000100?thread_ts=…` -> (channel, thread ts)."""
    link = link.strip().strip("<>").split("|", 1)[0]
    match = _ARCHIVES_LINK.search(link)
    if not match:
        return None
    query: dict[str, Any] = parse_qs(urlparse(link).query)
    thread_ts = (query.get("thread_ts") or [f"{match.group(2)}.{match.group(3)}"])[0]
    return match.group(1), thread_ts


def register(app: AsyncApp, deps: ListenerDeps) -> None:
    async def share(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond,
        where: Literal["thread", "review"],
    ) -> None:
        await ack()
        value = body["actions"][0].get("value") or ""
        note = (
            await deps.desk.brief.share(brief_id=int(value), user=body["user"]["id"], where=where)
            if value.isdigit()
            else "That button names no brief."
        )
        await respond(text=note, response_type="ephemeral", replace_original=False)

    @app.action(SHARE_IN_THREAD)
    async def share_in_thread(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await share(ack, body, respond, "thread")

    @app.action(SEND_TO_REVIEW)
    async def send_to_review(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await share(ack, body, respond, "review")

    @app.action(REFRESH)
    async def refresh(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        value = body["actions"][0].get("value") or ""
        stored = await deps.store.get_brief(brief_id=int(value)) if value.isdigit() else None
        if stored is None:
            await respond(text="That brief is no longer stored; ask for a new one.",
                          response_type="ephemeral", replace_original=False)
            return
        start_brief(
            deps, channel=stored.channel_id, thread_ts=stored.thread_ts,
            asker=body["user"]["id"], check_member=True, refresh=True,
        )

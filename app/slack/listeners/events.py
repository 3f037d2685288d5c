"""Events: messages in watched channels, @mentions, App Home.

A watched message is turned into a durable job BEFORE Bolt acks it (listener
middleware runs before the ack), so an acked event is never lost; the LLM
work happens later in the worker.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.response import BoltResponse

from app import metrics
from app.domain.redact import redact
from app.slack import blocks
from app.slack.services import Services
from app.slack.threads import author_role, thread_messages
from app.slack.worker import JobWorker
from app.store import NewComplaint

log = structlog.get_logger(__name__)

# Subtypes that carry a new message from a person; everything else (edits,
# deletions, joins, bot posts, hidden subtypes) is not a complaint.
_NEW_MESSAGE_SUBTYPES = {None, "thread_broadcast", "file_share"}
_MENTION = re.compile(r"<@[UW][A-Z0-9]+(\|[^>]*)?>")

Next = Callable[[], Awaitable[None]]
# Slack wants its ack within 3 s; the author lookup gets a small share of that.
AGENT_LOOKUP_S = 1.0


def register(app: AsyncApp, services: Services, worker: JobWorker) -> None:
    async def dedupe_deliveries(body: dict[str, Any], next: Next) -> BoltResponse | None:  # noqa: A002
        """Slack redelivers events (X-Slack-Retry-Num); handle each event_id once."""
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and not await services.store.first_delivery(event_id=event_id):
            metrics.MESSAGES_SEEN.labels(outcome="duplicate_delivery").inc()
            log.info("duplicate_event_ignored", event_id=event_id)
            return BoltResponse(status=200, body="")
        await next()
        return None

    app.middleware(dedupe_deliveries)

    async def accept_message(
        body: dict[str, Any],
        context: AsyncBoltContext,
        next: Next,  # noqa: A002
    ) -> None:
        event = body.get("event") or {}
        try:
            outcome = await _accept(services, event, body)
        except Exception:
            # Bolt answers 500 and Slack retries; the retry must not be dropped as a duplicate.
            if body.get("event_id"):
                await services.store.forget_delivery(event_id=body["event_id"])
            raise
        metrics.MESSAGES_SEEN.labels(outcome=outcome).inc()
        log.info("message_seen", outcome=outcome, channel=event.get("channel"), ts=event.get("ts"))
        context["accepted"] = outcome == "accepted"
        await next()

    @app.event("message", middleware=[accept_message])
    async def on_message(context: AsyncBoltContext) -> None:
        if context.get("accepted"):
            worker.wake()

    @app.event("app_mention")
    async def on_mention(event: dict[str, Any], body: dict[str, Any], client: Any) -> None:
        await _mention(services, worker, event, body)

    @app.event("app_home_opened")
    async def on_home(event: dict[str, Any], client: Any) -> None:
        if event.get("tab") != "home":
            return
        stats = await services.store.stats()
        await client.views_publish(user_id=event["user"], view=blocks.home(stats))


async def _accept(services: Services, event: dict[str, Any], body: dict[str, Any]) -> str:
    """Decide whether a message is a customer's, and if so store it with a draft job."""
    channel = event.get("channel")
    if channel not in services.settings.support_channels:
        return "ignored_channel"
    if event.get("subtype") not in _NEW_MESSAGE_SUBTYPES or event.get("hidden"):
        return "ignored_subtype"
    user = event.get("user")
    if event.get("bot_id") or not user or user == services.bot_user_id:
        return "ignored_bot"
    text = (event.get("text") or "").strip()
    if not text:
        return "ignored_empty"
    if await _from_agent(services, user, event.get("user_team") or event.get("team")):
        return "ignored_agent"
    ts = event["ts"]
    root = event.get("thread_ts") or ts
    # A message that starts its own thread has nothing older to supersede.
    superseded = (
        await services.store.supersede_thread(channel_id=channel, thread_ts=root, newer_than_ts=ts)
        if event.get("thread_ts")
        else []
    )
    accepted = await services.store.accept_complaint(
        complaint=NewComplaint(
            team_id=body.get("team_id") or "",
            channel_id=channel,
            message_ts=ts,
            thread_ts=root,
            user_id=user,
            text=redact(text).text,
            source="watch",
        )
    )
    for draft in superseded:
        # Cards of older drafts in this thread now say they can no longer send.
        services.after_ack(_refresh(services, draft.id))
    return "accepted" if accepted else "duplicate_message"


async def _from_agent(services: Services, user: str, team: str | None) -> bool:
    """Is the author an agent? Decided before the ack, so a slow Slack API must not stall it.

    A customer from another workspace needs no lookup.  When the lookup is
    slow the message is treated as a customer's: an extra card in the review
    channel is better than a complaint nobody sees.
    """
    if team and services.team_id and team != services.team_id:
        return False
    try:
        return await asyncio.wait_for(services.agents.is_agent(user, team_id=team), AGENT_LOOKUP_S)
    except TimeoutError:
        log.warning("agent_lookup_slow", user=user)
        return False


async def _refresh(services: Services, draft_id: int) -> None:
    from app.slack.cards import refresh_card

    await refresh_card(services, draft_id)


async def _mention(
    services: Services, worker: JobWorker, event: dict[str, Any], body: dict[str, Any]
) -> None:
    """`@tactful offer express shipping` in a thread: draft a reply to its latest customer message."""
    user, channel = event.get("user"), event.get("channel")
    if not user or not channel:
        return
    if not await services.agents.is_agent(
        user, team_id=event.get("user_team") or event.get("team")
    ):
        await services.client.chat_postEphemeral(
            channel=channel, user=user, text="Only support agents can ask tactful for drafts."
        )
        return
    guidance = _MENTION.sub("", event.get("text") or "").strip() or None
    root = event.get("thread_ts") or event["ts"]
    messages = await thread_messages(services.client, channel=channel, thread_ts=root)
    target = None
    for message in reversed(messages):
        if message.get("ts") == event["ts"]:
            continue
        if await author_role(services.agents, message) == "customer" and message.get("text"):
            target = message
            break
    if target is None:
        await services.client.chat_postEphemeral(
            channel=channel,
            user=user,
            thread_ts=root,
            text="I found no customer message in this thread to reply to.",
        )
        return
    accepted = await services.store.accept_complaint(
        complaint=NewComplaint(
            team_id=body.get("team_id") or "",
            channel_id=channel,
            message_ts=target["ts"],
            thread_ts=root,
            user_id=target.get("user") or "",
            text=redact(target.get("text") or "").text,
            source="mention",
            requested_by=user,
            guidance=redact(guidance).text if guidance else None,
        )
    )
    worker.wake()
    note = (
        f"Drafting a reply; the card will appear in <#{services.review_channel}>."
        if accepted
        else "A draft for that message was already requested."
    )
    await services.client.chat_postEphemeral(channel=channel, user=user, thread_ts=root, text=note)

"""Events: messages in watched channels, @mentions, App Home.

A watched message becomes a durable job BEFORE Bolt acks it (listener
middleware runs before the ack), so an acked event is never lost; the LLM
work happens later in the job runner.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import structlog
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from app import metrics
from app.slack import blocks
from app.slack.deps import ListenerDeps
from app.slack.home_blocks import report_period, with_report
from app.slack.listeners.briefs import WORKING, start_brief
from app.slack.listeners.shortcuts import ALREADY_REQUESTED, DRAFTING_PRIVATELY
from app.slack.playbook_alerts import with_playbook_problems
from app.usecases import Message

log = structlog.get_logger(__name__)

# Subtypes that carry a new message from a person; everything else (edits,
# deletions, joins, bot posts, hidden subtypes) is not a complaint.
_NEW_MESSAGE_SUBTYPES = {None, "thread_broadcast", "file_share"}
_MENTION = re.compile(r"<@[UW][A-Z0-9]+(\|[^>]*)?>")
# "@tactful summarize this thread", "brief please", "escalate": a brief, not a draft.
_BRIEF_ASK = re.compile(
    r"^\W{0,3}(?:please\s+|can you\s+|pls\s+)?(?:summari[sz]e|summary|brief|escalat|tl;?dr)",
    re.IGNORECASE,
)

Next = Callable[[], Awaitable[None]]


def message_of(body: dict[str, Any], event: dict[str, Any]) -> Message:
    return Message(
        team_id=body.get("team_id") or "",
        channel=event.get("channel") or "",
        ts=event["ts"],
        thread_ts=event.get("thread_ts"),
        user=event.get("user") or "",
        user_team=event.get("user_team") or event.get("team"),
        text=event.get("text") or "",
    )


def register_dedupe(app: AsyncApp, deps: ListenerDeps) -> None:
    async def dedupe_deliveries(body: dict[str, Any], next: Next) -> BoltResponse | None:  # noqa: A002
        """Slack redelivers events (X-Slack-Retry-Num); handle each event_id once.

        A message's event id is recorded by ``accept_message`` instead, in the
        transaction that stores the complaint: one write less on the ack path
        of every customer message.
        """
        is_event = body.get("type") == "event_callback" and not _is_message(body)
        event_id = body.get("event_id") if is_event else None
        if event_id and not await deps.store.first_delivery(event_id=event_id):
            _duplicate_delivery(event_id)
            return BoltResponse(status=200, body="")
        await next()
        return None

    app.middleware(dedupe_deliveries)


def register(app: AsyncApp, deps: ListenerDeps) -> None:
    desk = deps.desk

    async def accept_message(
        body: dict[str, Any],
        context: AsyncBoltContext,
        next: Next,  # noqa: A002
    ) -> None:
        event = body.get("event") or {}
        # On failure Bolt answers 500 and nothing was stored, the event id neither:
        # Slack's retry is handled as new.
        outcome, started = await _accept(deps, body, event)
        if outcome == "duplicate_delivery":
            _duplicate_delivery(body.get("event_id"))
        else:
            metrics.MESSAGES_SEEN.labels(outcome=outcome).inc()
            log.info(
                "message_seen", outcome=outcome, channel=event.get("channel"), ts=event.get("ts")
            )
        # A job this worker could not start at once (all slots busy) waits in the queue.
        context["queued"] = outcome == "accepted" and not started
        await next()

    @app.event("message", middleware=[accept_message])
    async def on_message(context: AsyncBoltContext) -> None:
        if context.get("queued"):
            desk.jobs.wake()

    @app.event("app_mention")
    async def on_mention(
        event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await _mention(deps, client, body, event)

    @app.event("app_home_opened")
    async def on_home(
        event: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        if event.get("tab") != "home":
            return
        # The guard says who is an agent: figures are the team's, not the workspace's.
        stats = await deps.store.stats() if context.get("is_agent") else None
        view = blocks.home(stats)
        if stats is not None and deps.is_manager(event["user"]):
            report = await deps.store.report(since=datetime.now(UTC) - report_period())
            view = with_report(view, report)
            view = with_playbook_problems(view, deps.playbook_problems())
        await client.views_publish(user_id=event["user"], view=view)


def _is_message(body: dict[str, Any]) -> bool:
    event = body.get("event") or {}
    return body.get("type") == "event_callback" and event.get("type") == "message"


def _duplicate_delivery(event_id: str | None) -> None:
    metrics.MESSAGES_SEEN.labels(outcome="duplicate_delivery").inc()
    log.info("duplicate_event_ignored", event_id=event_id)


async def _accept(
    deps: ListenerDeps, body: dict[str, Any], event: dict[str, Any]
) -> tuple[str, bool]:
    """Leave out what is not a person's new message, then hand it to intake.

    Returns the outcome, and whether the drafting job was started here.
    """
    if event.get("subtype") not in _NEW_MESSAGE_SUBTYPES or event.get("hidden"):
        return "ignored_subtype", False
    user = event.get("user")
    if event.get("bot_id") or not user or user == deps.bot_user_id:
        return "ignored_bot", False
    jobs = deps.desk.jobs
    # With a slot free, the job is stored already taken by this worker and started
    # here: no claim from the queue (a store write less per complaint under a burst).
    claim = await jobs.reserve()
    try:
        result = await deps.desk.intake.watched_message(
            message_of(body, event), claim=claim, event_id=body.get("event_id")
        )
    except BaseException:
        if claim is not None:
            jobs.unreserve()
        raise
    if result.job is not None:
        jobs.adopt(result.job)
    elif claim is not None:
        jobs.unreserve()
    for draft_id in result.superseded:
        # Cards of older drafts in this thread now say they can no longer send.
        deps.background.spawn(deps.desk.cards.refresh(draft_id))
    return result.outcome, result.job is not None


async def _mention(
    deps: ListenerDeps, client: AsyncWebClient, body: dict[str, Any], event: dict[str, Any]
) -> None:
    """`@tactful offer express shipping` in a thread: draft a reply to its latest customer message."""
    user, channel = event.get("user") or "", event.get("channel") or ""
    guidance = _MENTION.sub("", event.get("text") or "").strip() or None
    root = event.get("thread_ts") or event["ts"]
    if guidance and _BRIEF_ASK.match(guidance):
        await _brief_in_thread(deps, client, channel=channel, user=user, thread_ts=root)
        return
    target = await deps.desk.intake.latest_customer_message(
        team_id=body.get("team_id") or "", channel=channel, thread_ts=root, skip_ts=event["ts"]
    )
    if target is None:
        note = "I found no customer message in this thread to reply to."
    else:
        accepted = await deps.desk.intake.requested(
            target, source="mention", asker=user, guidance=guidance
        )
        deps.desk.jobs.wake()
        note = DRAFTING_PRIVATELY if accepted else ALREADY_REQUESTED
    await client.chat_postEphemeral(channel=channel, user=user, thread_ts=root, text=note)


async def _brief_in_thread(
    deps: ListenerDeps, client: AsyncWebClient, *, channel: str, user: str, thread_ts: str
) -> None:
    """The asker wrote in this thread, so they can read it: no membership check needed."""
    await client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts, text=WORKING)
    start_brief(deps, channel=channel, thread_ts=thread_ts, asker=user, check_member=False)

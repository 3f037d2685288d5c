"""Message shortcuts: "Draft a reply" and "Summarize for escalation" on any message."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from app.domain.redact import redact
from app.slack.briefs import brief_thread
from app.slack.listeners.actions import NOT_AN_AGENT
from app.slack.services import Services
from app.slack.worker import JobWorker
from app.store import NewComplaint

DRAFT_SHORTCUT = "draft_reply"
SUMMARIZE_SHORTCUT = "summarize_thread"


async def _from_agent(services: Services, body: dict[str, Any], respond: AsyncRespond) -> bool:
    user = body["user"]
    if await services.agents.is_agent(user["id"], team_id=user.get("team_id")):
        return True
    await respond(text=NOT_AN_AGENT, response_type="ephemeral")
    return False


def register(app: AsyncApp, services: Services, worker: JobWorker) -> None:
    @app.shortcut(DRAFT_SHORTCUT)
    async def draft_reply(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        if not await _from_agent(services, body, respond):
            return
        user, message, channel = body["user"], body["message"], body["channel"]["id"]
        text = (message.get("text") or "").strip()
        if not text:
            await respond(text="That message has no text to reply to.", response_type="ephemeral")
            return
        accepted = await services.store.accept_complaint(
            complaint=NewComplaint(
                team_id=(body.get("team") or {}).get("id", ""),
                channel_id=channel,
                message_ts=message["ts"],
                thread_ts=message.get("thread_ts") or message["ts"],
                user_id=message.get("user") or "",
                text=redact(text).text,
                source="shortcut",
                requested_by=user["id"],
            )
        )
        worker.wake()
        note = (
            f"Drafting a reply; the card will appear in <#{services.review_channel}>."
            if accepted
            else f"A draft for this message was already requested; see <#{services.review_channel}>."
        )
        await respond(text=note, response_type="ephemeral")

    @app.shortcut(SUMMARIZE_SHORTCUT)
    async def summarize(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        if not await _from_agent(services, body, respond):
            return
        message = body["message"]
        await respond(text="Summarizing the thread…", response_type="ephemeral")
        services.after_ack(
            brief_thread(
                services,
                channel=body["channel"]["id"],
                thread_ts=message.get("thread_ts") or message["ts"],
                respond=respond,
            )
        )

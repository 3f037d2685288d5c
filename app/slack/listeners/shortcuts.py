"""Message shortcuts: "Draft a reply" and "Summarize for escalation" on any message."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from app.slack.deps import ListenerDeps
from app.slack.listeners.briefs import WORKING, start_brief
from app.usecases import Message

DRAFT_SHORTCUT = "draft_reply"
SUMMARIZE_SHORTCUT = "summarize_thread"
DRAFTING_PRIVATELY = (
    "Drafting a reply; I'll send it to you in a direct message, where only you can see it "
    "until you approve it or share it in the review channel."
)
ALREADY_REQUESTED = (
    "A draft for this message already exists: look for its card in the review channel "
    "or in your direct messages with me."
)


def register(app: AsyncApp, deps: ListenerDeps) -> None:
    desk = deps.desk

    @app.shortcut(DRAFT_SHORTCUT)
    async def draft_reply(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        message = body["message"]
        if not (message.get("text") or "").strip():
            await respond(text="That message has no text to reply to.", response_type="ephemeral")
            return
        accepted = await desk.intake.requested(
            Message(
                team_id=(body.get("team") or {}).get("id", ""),
                channel=body["channel"]["id"],
                ts=message["ts"],
                thread_ts=message.get("thread_ts"),
                user=message.get("user") or "",
                user_team=message.get("user_team"),
                text=message["text"],
            ),
            source="shortcut",
            asker=body["user"]["id"],
        )
        desk.jobs.wake()
        note = DRAFTING_PRIVATELY if accepted else ALREADY_REQUESTED
        await respond(text=note, response_type="ephemeral")

    @app.shortcut(SUMMARIZE_SHORTCUT)
    async def summarize(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        message = body["message"]
        await respond(text=WORKING, response_type="ephemeral")
        # The asker sees the message in its channel, so they may read the thread.
        start_brief(
            deps,
            channel=body["channel"]["id"],
            thread_ts=message.get("thread_ts") or message["ts"],
            asker=body["user"]["id"],
            check_member=False,
        )

"""Relayed customers: "Mark as sent" under the copy-ready reply Approve gave the agent.

The copy-ready message is ephemeral (only the clicking agent sees it), so
the answer replaces it through the click's ``response_url``; the card in the
review channel is redrawn by the use case and says who sent the reply.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from app.slack import relay_blocks
from app.slack.deps import ListenerDeps
from app.slack.listeners.actions import draft_id_of, seen_fingerprint
from app.usecases.approve import SendOutcome


async def answer_copy_ready(
    client: AsyncWebClient, *, channel: str, user: str, outcome: SendOutcome
) -> None:
    """Approve for a relayed customer: the reply to paste, only for the agent who clicked."""
    text, blocks = relay_blocks.copy_ready(
        outcome.text_for_agent or "", intro=outcome.message, mark_sent=outcome.mark_sent
    )
    await client.chat_postEphemeral(channel=channel, user=user, text=text, blocks=blocks)


def register(app: AsyncApp, deps: ListenerDeps) -> None:
    @app.action(relay_blocks.MARK_SENT)
    async def mark_sent(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        outcome = await deps.desk.mark_sent(
            draft_id=draft_id_of(body), user_id=body["user"]["id"], seen=seen_fingerprint(body)
        )
        if outcome.sent:
            await respond(text=f":white_check_mark: {outcome.message}", replace_original=True)
            return
        # The copy stays: the agent may still need the text; the note says why nothing changed.
        channel = (body.get("channel") or {}).get("id") or deps.review_channel
        await client.chat_postEphemeral(channel=channel, user=body["user"]["id"], text=outcome.message)

"""``SlackGateway``: the use cases' ``SlackPort``, implemented with slack_sdk.

Cards are rendered here (Block Kit is Slack's business), replies carry
message metadata naming their draft so an earlier post can be found again,
and every ``SlackApiError`` leaves as ``SlackFailure``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from datetime import datetime
from typing import Any

import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from app.domain.models import ThreadMessage
from app.domain.ports import PlaybookFor
from app.slack import blocks
from app.slack.agents import AgentDirectory
from app.slack.brief_posts import BriefPosts
from app.slack.incident_blocks import incident_card
from app.slack.pacing import Priority, call_priority
from app.slack.reminder_blocks import reminder_blocks
from app.slack.threads import author_role, thread_messages
from app.store import Complaint, Draft
from app.usecases.incidents import IncidentCard
from app.usecases.ports import CardRef, SlackFailure

log = structlog.get_logger(__name__)

REPLY_EVENT_TYPE = "tactful_reply"
_TOO_BIG = {"msg_too_long", "invalid_blocks", "too_many_blocks"}
# The draft sees the last few messages before the complaint; older ones add tokens, not sense.
HISTORY_KEPT = 20
MEMBERS_PAGE = 1000


@asynccontextmanager
async def slack_failures() -> AsyncIterator[None]:
    try:
        yield
    except SlackApiError as exc:
        raise SlackFailure(str(exc.response.get("error") or exc.response.status_code)) from exc


class SlackGateway(BriefPosts):
    def __init__(
        self,
        client: AsyncWebClient,
        agents: AgentDirectory,
        *,
        review_channel: str,
        playbook: PlaybookFor,
        send_client: AsyncWebClient | None = None,
        bot_user_id: str | None = None,
        bot_id: str | None = None,
        workspace_url: str | None = None,
    ) -> None:
        self._client = client
        # auth.test's https://team.slack.com/: permalinks are built, not asked for.
        self._workspace_url = workspace_url
        # Who our own posts are from: only they can be a reply we sent.
        self._bot_user_id = bot_user_id
        self._bot_id = bot_id
        # Replies go through a client that never retries where Slack may have posted.
        self._send_client = send_client or client
        self._agents = agents
        self._review_channel = review_channel
        self._playbook = playbook

    async def post_card(
        self, complaint: Complaint, draft: Draft, *, to_review: bool = False
    ) -> CardRef:
        private = bool(complaint.requested_by) and not to_review
        channel = (
            await self._direct_channel(str(complaint.requested_by))
            if private
            else self._review_channel
        )
        text, card_blocks = blocks.card(
            complaint, draft, self._playbook(complaint.channel_id).catalog, private=private
        )
        response = await self._card_call(
            "chat_postMessage",
            urgent=_is_urgent(draft),
            channel=channel,
            text=text,
            blocks=card_blocks,
            unfurl_links=False,
            unfurl_media=False,
        )
        return CardRef(channel=str(response["channel"]), ts=str(response["ts"]))

    async def update_card(self, complaint: Complaint, draft: Draft) -> None:
        assert draft.card_channel and draft.card_ts
        text, card_blocks = blocks.card(
            complaint,
            draft,
            self._playbook(complaint.channel_id).catalog,
            private=draft.card_channel != self._review_channel,
        )
        await self._card_call(
            "chat_update",
            urgent=_is_urgent(draft),
            channel=draft.card_channel,
            ts=draft.card_ts,
            text=text,
            blocks=card_blocks,
        )

    async def post_incident_card(self, card: IncidentCard) -> CardRef:
        """An incident card always goes to the review channel (agents only)."""
        text, card_blocks = incident_card(card)
        response = await self._card_call(
            "chat_postMessage", channel=self._review_channel, text=text, blocks=card_blocks,
            unfurl_links=False, unfurl_media=False,
        )
        return CardRef(channel=str(response["channel"]), ts=str(response["ts"]))

    async def update_incident_card(self, ref: CardRef, card: IncidentCard) -> None:
        text, card_blocks = incident_card(card)
        await self._card_call(
            "chat_update", channel=ref.channel, ts=ref.ts, text=text, blocks=card_blocks
        )

    async def retire_card(self, card: CardRef, *, note: str) -> None:
        async with slack_failures():
            await self._client.chat_update(
                channel=card.channel, ts=card.ts, text=note, blocks=[blocks.note(note)]
            )

    async def _direct_channel(self, user_id: str) -> str:
        """The bot's DM with an agent: drafts asked for on request reach only the asker."""
        async with slack_failures():
            response = await self._client.conversations_open(users=user_id)
        return str(response["channel"]["id"])

    async def post_reply(self, *, channel: str, thread_ts: str, text: str, draft_id: int) -> str:
        async with slack_failures():
            response = await self._send_client.chat_postMessage(
                channel=channel,
                thread_ts=thread_ts,
                text=text,
                unfurl_links=False,
                metadata={"event_type": REPLY_EVENT_TYPE, "event_payload": {"draft_id": draft_id}},
            )
        return str(response["ts"])

    async def find_reply(
        self, *, channel: str, thread_ts: str, draft_id: int, since: datetime
    ) -> str | None:
        # A minute before the claim: our clock and Slack's may differ a little.
        oldest = f"{since.timestamp() - 60:.6f}"
        async with slack_failures():
            messages = await thread_messages(
                self._client, channel=channel, thread_ts=thread_ts, oldest=oldest,
                max_messages=None,
            )
        for message in messages:
            if not self._posted_by_us(message):
                continue
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == REPLY_EVENT_TYPE and payload.get("draft_id") == draft_id:
                return str(message["ts"])
        return None

    def _posted_by_us(self, message: dict[str, Any]) -> bool:
        if self._bot_user_id is None and self._bot_id is None:
            return True
        return (self._bot_user_id is not None and message.get("user") == self._bot_user_id) or (
            self._bot_id is not None and message.get("bot_id") == self._bot_id
        )

    async def read_thread(
        self, *, channel: str, thread_ts: str, before_ts: str | None = None
    ) -> list[ThreadMessage]:
        async with slack_failures():
            # Every page, no cap: a brief reads it all, and a draft's history is the
            # newest messages before its complaint, never the first page's oldest.
            raw = await thread_messages(
                self._client, channel=channel, thread_ts=thread_ts, max_messages=None
            )
        if before_ts is not None:
            raw = [m for m in raw if float(m.get("ts", "0")) < float(before_ts)][-HISTORY_KEPT:]
        return [
            ThreadMessage(
                author=await author_role(self._agents, message),
                text=message.get("text") or "",
                ts=message.get("ts"),
                user_id=message.get("user"),
            )
            for message in raw
            if (message.get("text") or "").strip()
        ]

    async def permalink(
        self, *, channel: str, ts: str, thread_ts: str | None = None
    ) -> str | None:
        known = self.known_permalink(channel=channel, ts=ts, thread_ts=thread_ts)
        if known is not None:
            return known
        try:
            response = await self._client.chat_getPermalink(channel=channel, message_ts=ts)
        except SlackApiError as exc:
            log.info("permalink_unavailable", error=exc.response.get("error"))
            return None
        return str(response["permalink"])

    def known_permalink(
        self, *, channel: str, ts: str, thread_ts: str | None = None
    ) -> str | None:
        if not self._workspace_url:
            return None
        # Slack's documented permalink shape; saves a rate-limited call per card.
        link = f"{self._workspace_url.rstrip('/')}/archives/{channel}/p{ts.replace('.', '')}"
        if thread_ts and thread_ts != ts:
            link += f"?thread_ts={thread_ts}&cid={channel}"
        return link

    async def is_agent(self, user_id: str, *, team_id: str | None) -> bool:
        return await self._agents.is_agent(user_id, team_id=team_id)

    async def is_member(self, *, channel: str, user_id: str) -> bool:
        cursor: str | None = None
        while True:
            async with slack_failures():
                response = await self._client.conversations_members(
                    channel=channel, limit=MEMBERS_PAGE, cursor=cursor
                )
            if user_id in (response.get("members") or []):
                return True
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return False

    async def remind_commitment(
        self, *, user_id: str, text: str, link: str | None, commitment_id: int
    ) -> None:
        channel = await self._direct_channel(user_id)
        async with slack_failures():
            # The client that never retries where Slack may have posted: one reminder, once.
            await self._send_client.chat_postMessage(
                channel=channel, text=text, unfurl_links=False,
                blocks=reminder_blocks(text, link=link, commitment_id=commitment_id),
            )

    async def _card_call(self, method: str, *, urgent: bool = False, **kwargs: Any) -> Any:
        """Post or update a card; one Slack refuses as too big is shortened, not lost.

        When cards queue at the pacer, an urgent complaint's card goes first.
        """
        call = getattr(self._client, method)
        priority = call_priority(Priority.URGENT) if urgent else nullcontext()
        async with slack_failures():
            with priority:
                try:
                    return await call(**kwargs)
                except SlackApiError as exc:
                    error = exc.response.get("error")
                    if error not in _TOO_BIG:
                        raise
                    log.warning("card_too_big", method=method, error=error)
                    kwargs["blocks"] = _shrink(kwargs["blocks"])
                    return await call(**kwargs)


def _is_urgent(draft: Draft) -> bool:
    """The model rated the complaint high or critical: its card jumps the pacer's queue."""
    return draft.triage is not None and draft.triage.urgency in ("high", "critical")


def _shrink(card_blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep the header, the first draft sections and the actions; drop the rest."""
    kept: list[dict[str, Any]] = []
    sections = 0
    for block in card_blocks:
        if block["type"] == "section":
            sections += 1
            if sections > 3:
                continue
        kept.append(block)
    kept.insert(
        -1 if kept and kept[-1]["type"] == "actions" else len(kept),
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": "Shortened to fit Slack; open Edit for the full draft."}
            ],
        },
    )
    return kept[: blocks.MAX_BLOCKS]

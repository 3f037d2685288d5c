"""The Slack side of briefs: the asker's private note, the brief messages, sharing them.

Mixed into ``SlackGateway`` (which implements ``app.usecases.brief.BriefSlack``
with it), so every call goes through the gateway's paced client.  A brief is
private first: it lives in the bot's direct message with the asker, where a
Slack Connect guest can never read it; the note there is updated in place
(``chat.update``) while the thread is read, then becomes the brief.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from app.slack.brief_blocks import brief_messages
from app.slack.text import safe
from app.usecases.brief import BriefView
from app.usecases.ports import CardRef, SlackFailure


@asynccontextmanager
async def _failures() -> AsyncIterator[None]:
    # The gateway's rule, without importing the gateway that mixes this class in.
    try:
        yield
    except SlackApiError as exc:
        raise SlackFailure(str(exc.response.get("error") or exc.response.status_code)) from exc


class BriefPosts:
    _client: AsyncWebClient

    async def _direct_channel(self, user_id: str) -> str:
        raise NotImplementedError  # SlackGateway's

    async def open_note(self, *, user_id: str, text: str) -> CardRef:
        channel = await self._direct_channel(user_id)
        async with _failures():
            response = await self._client.chat_postMessage(channel=channel, text=safe(text))
        return CardRef(channel=str(response["channel"]), ts=str(response["ts"]))

    async def update_note(self, note: CardRef, *, text: str) -> None:
        async with _failures():
            await self._client.chat_update(
                channel=note.channel, ts=note.ts, text=safe(text), blocks=[]
            )

    async def show_brief(self, note: CardRef, view: BriefView) -> None:
        """The note becomes the brief's first message; a long brief continues below it."""
        messages = brief_messages(view, private=True)
        async with _failures():
            first_text, first_blocks = messages[0]
            await self._client.chat_update(
                channel=note.channel, ts=note.ts, text=first_text, blocks=first_blocks
            )
            for text, blocks in messages[1:]:
                await self._post(note.channel, text, blocks, None)

    async def post_brief(self, *, channel: str, view: BriefView, thread_ts: str | None) -> None:
        async with _failures():
            for text, blocks in brief_messages(view, private=False):
                await self._post(channel, text, blocks, thread_ts)

    async def is_shared_externally(self, *, channel: str) -> bool:
        """A Slack Connect channel: someone outside the workspace reads what is posted there."""
        async with _failures():
            response = await self._client.conversations_info(channel=channel)
        info: dict[str, Any] = response.get("channel") or {}
        return bool(info.get("is_ext_shared") or info.get("is_pending_ext_shared"))

    async def _post(
        self, channel: str, text: str, blocks: list[dict[str, Any]], thread_ts: str | None
    ) -> None:
        await self._client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, text=text, blocks=blocks,
            unfurl_links=False, unfurl_media=False,
        )

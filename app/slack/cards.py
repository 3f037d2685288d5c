"""Posting and refreshing suggestion cards from what the store holds.

The store is the source of truth: a card is always re-rendered from the
draft row, so a restarted process, another instance or a retried job all
show the same card.  When Slack refuses a card as too long, a trimmed one is
posted instead of losing the draft.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from slack_sdk.errors import SlackApiError

from app.slack import blocks
from app.slack.services import Services
from app.store import Complaint, Draft

log = structlog.get_logger(__name__)

_TOO_BIG = {"msg_too_long", "invalid_blocks", "too_many_blocks"}


class _Turn:
    """One card's redraw lock, kept only while someone is using it."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


_redraw_turns: dict[int, _Turn] = {}


async def publish_card(services: Services, complaint: Complaint, draft: Draft) -> Draft:
    """Post the card for ``draft`` if it has none yet, else update it in place."""
    book = services.playbook.current()
    text, card_blocks = blocks.card(complaint, draft, book.catalog)
    if draft.card_ts and draft.card_channel:
        await _send(
            services,
            "chat_update",
            channel=draft.card_channel,
            ts=draft.card_ts,
            text=text,
            blocks=card_blocks,
        )
        return draft
    response = await _send(
        services,
        "chat_postMessage",
        channel=services.review_channel,
        text=text,
        blocks=card_blocks,
        unfurl_links=False,
        unfurl_media=False,
    )
    await services.store.set_card(draft_id=draft.id, channel=response["channel"], ts=response["ts"])
    fresh = await services.store.get_draft(draft_id=draft.id)
    assert fresh is not None
    return fresh


async def refresh_card(services: Services, draft_id: int) -> None:
    """Redraw a card from the store.

    Redraws of one card take turns and each reads the store inside its turn,
    so the last drawing always shows the latest state: a slow redraw can no
    longer land after a newer one and bring back buttons that were gone.
    """
    turn = _redraw_turns.setdefault(draft_id, _Turn())
    turn.users += 1
    try:
        async with turn.lock:
            await _redraw(services, draft_id)
    finally:
        turn.users -= 1
        if not turn.users:
            del _redraw_turns[draft_id]


async def _redraw(services: Services, draft_id: int) -> None:
    draft = await services.store.get_draft(draft_id=draft_id)
    if draft is None:
        return
    complaint = await services.store.get_complaint(complaint_id=draft.complaint_id)
    if complaint is None:
        return
    await publish_card(services, complaint, draft)


async def _send(services: Services, method: str, **kwargs: Any) -> Any:
    call = getattr(services.client, method)
    try:
        return await call(**kwargs)
    except SlackApiError as exc:
        error = exc.response.get("error")
        if error not in _TOO_BIG:
            raise
        log.warning("card_too_big", method=method, error=error)
        kwargs["blocks"] = _shrink(kwargs["blocks"])
        return await call(**kwargs)


def _shrink(card_blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep the header, the first draft section and the actions; drop the rest."""
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
    return kept[:50]

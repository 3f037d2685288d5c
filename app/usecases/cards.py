"""The suggestion card follows the store: post it once, redraw it from the draft row.

A card is always drawn from what the store holds, so a restarted process,
another instance or a retried job all show the same card.  Redraws of one
card take turns and read the store inside their turn, so a slow redraw can
never land after a newer one and bring back buttons that are gone.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

from app.store import Complaint, Draft, Store
from app.usecases.ports import CardRef, SlackPort


class _Turn:
    """One card's redraw lock, kept only while someone is using it."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class CardDesk:
    def __init__(self, store: Store, slack: SlackPort) -> None:
        self._store = store
        self._slack = slack
        self._turns: dict[int, _Turn] = {}

    async def show(self, complaint: Complaint, draft: Draft) -> Draft:
        """Post the card for ``draft`` if it has none yet, else update it in place."""
        if draft.card_ts and draft.card_channel:
            await self._slack.update_card(complaint, draft)
            return draft
        card = await self._slack.post_card(complaint, draft)
        await self._store.set_card(draft_id=draft.id, channel=card.channel, ts=card.ts)
        return replace(draft, card_channel=card.channel, card_ts=card.ts)

    async def share(self, draft_id: int) -> bool:
        """Move a privately asked-for card to the review channel; False if there is none."""
        async with self._turn(draft_id):
            draft = await self._store.get_draft(draft_id=draft_id)
            if draft is None or not (draft.card_channel and draft.card_ts):
                return False
            complaint = await self._store.get_complaint(complaint_id=draft.complaint_id)
            if complaint is None:
                return False
            card = await self._slack.post_card(complaint, draft, to_review=True)
            await self._store.set_card(draft_id=draft.id, channel=card.channel, ts=card.ts)
            await self._slack.retire_card(
                CardRef(draft.card_channel, draft.card_ts),
                note=f"Shared in <#{card.channel}>: the card lives there now.",
            )
            return True

    async def refresh(self, draft_id: int) -> None:
        """Redraw a card from the store, after every other redraw of it."""
        async with self._turn(draft_id):
            found = await self._store.draft_and_complaint(draft_id=draft_id)
            if found is not None:
                await self.show(found[1], found[0])

    async def show_stored(self, complaint: Complaint, draft: Draft) -> None:
        """``refresh`` with the rows in hand: for the job that has just stored them."""
        async with self._turn(draft.id):
            await self.show(complaint, draft)

    @asynccontextmanager
    async def _turn(self, draft_id: int) -> AsyncIterator[None]:
        turn = self._turns.setdefault(draft_id, _Turn())
        turn.users += 1
        try:
            async with turn.lock:
                yield
        finally:
            turn.users -= 1
            if not turn.users:
                del self._turns[draft_id]

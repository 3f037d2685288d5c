"""Discard: the agent throws a draft away for good; no copy of its card can send afterwards."""

from __future__ import annotations

from app import metrics
from app.store import Store
from app.usecases.cards import CardDesk


class Discard:
    def __init__(self, store: Store, cards: CardDesk) -> None:
        self._store = store
        self._cards = cards

    async def __call__(self, *, draft_id: int, user_id: str, reason: str) -> bool:
        discarded = await self._store.discard(draft_id=draft_id, user_id=user_id, reason=reason)
        if discarded is not None:
            metrics.DECISIONS.labels(action="discard").inc()
        await self._cards.refresh(draft_id)
        return discarded is not None

"""Revise a pending draft by hand: the agent's edit, or other offers picked on the card."""

from __future__ import annotations

from collections.abc import Callable

from app import metrics
from app.domain.drafting import offers_by_id
from app.domain.ports import PlaybookView
from app.store import Draft, Store
from app.usecases.cards import CardDesk


class Revise:
    def __init__(self, store: Store, playbook: Callable[[], PlaybookView], cards: CardDesk) -> None:
        self._store = store
        self._playbook = playbook
        self._cards = cards

    async def edit(
        self, *, draft_id: int, user_id: str, text: str, offer_ids: list[str] | None
    ) -> Draft | None:
        """The agent's own text (and offers, when the modal had them); None if not pending."""
        draft = await self._store.get_draft(draft_id=draft_id)
        if draft is None:
            return None
        offers = (
            offers_by_id(self._playbook(), offer_ids, draft.offers)
            if offer_ids is not None
            else None
        )
        edited = await self._store.record_edit(
            draft_id=draft_id, user_id=user_id, new_text=text, offers=offers
        )
        if edited is not None:
            metrics.DECISIONS.labels(action="edit").inc()
        await self._cards.refresh(draft_id)
        return edited

    async def choose_offers(
        self, *, draft_id: int, user_id: str, offer_ids: list[str]
    ) -> Draft | None:
        """Other offers picked on the card; None if the draft can no longer change."""
        draft = await self._store.get_draft(draft_id=draft_id)
        if draft is None or not draft.can_send:
            return None
        offers = offers_by_id(self._playbook(), offer_ids, draft.offers)
        changed = await self._store.set_offers(draft_id=draft_id, user_id=user_id, offers=offers)
        if changed is not None:
            metrics.DECISIONS.labels(action="choose_offer").inc()
        await self._cards.refresh(draft_id)
        return changed

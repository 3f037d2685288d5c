"""Revise a pending draft by hand: the agent's edit, other offers, an override of a block.

Whatever changes the text or the offers, the guardrails run again on the
result before the card is redrawn, so Approve always sends a text that was
checked as it stands.  Picking other offers rewrites the reply for them; until
that rewrite lands, the card blocks Approve: it never shows offers its text
does not carry.
"""

from __future__ import annotations

from collections.abc import Sequence

from app import metrics
from app.domain.drafting import offers_by_id
from app.domain.guardrails import ReviewedText
from app.domain.models import Flag, ProposedOffer
from app.domain.ports import PlaybookFor
from app.store import Complaint, Draft
from app.usecases.draft import ModelWork
from app.usecases.regenerate import Regenerate

REWRITING = Flag(
    code="offers_changed",
    severity="block",
    message="Rewriting the reply for the offers you picked… Approve comes back when it is done.",
)


class Revise(ModelWork):
    def __init__(
        self,
        work: ModelWork,
        *,
        playbook: PlaybookFor,
        regenerate: Regenerate,
    ) -> None:
        super().__init__(*work.collaborators())
        self._playbook = playbook
        self._regenerate = regenerate

    async def edit(
        self, *, draft_id: int, user_id: str, text: str, offer_ids: list[str] | None
    ) -> Draft | None:
        """The agent's own text (and offers, when the modal had them); None if not pending."""
        found = await self._pending(draft_id)
        if found is None:
            return None
        draft, complaint = found
        offers = (
            offers_by_id(self._playbook(complaint.channel_id), offer_ids, draft.offers)
            if offer_ids is not None
            else draft.offers
        )
        reviewed = await self._review(complaint, draft, text, offers)
        edited = await self._store.record_edit(
            draft_id=draft_id,
            user_id=user_id,
            new_text=text,
            offers=list(offers),
            flags=reviewed.flags,
            checklist=reviewed.checklist,
        )
        if edited is not None:
            metrics.DECISIONS.labels(action="edit").inc()
        await self._cards.refresh(draft_id)
        return edited

    async def choose_offers(
        self, *, draft_id: int, user_id: str, offer_ids: list[str]
    ) -> Draft | None:
        """Other offers picked on the card: the reply is rewritten for them.

        None if the draft can no longer change.
        """
        found = await self._pending(draft_id)
        if found is None:
            return None
        draft, complaint = found
        offers = offers_by_id(self._playbook(complaint.channel_id), offer_ids, draft.offers)
        reviewed = await self._review(complaint, draft, draft.text, offers)
        changed = await self._store.set_offers(
            draft_id=draft_id,
            user_id=user_id,
            offers=offers,
            flags=[REWRITING, *reviewed.flags],
            checklist=reviewed.checklist,
        )
        if changed is None:
            return None
        metrics.DECISIONS.labels(action="choose_offer").inc()
        await self._cards.refresh(draft_id)
        await self._regenerate.request(
            draft_id=draft_id,
            user_id=user_id,
            guidance="Offer exactly the offers listed now, and no other; keep the rest.",
            keep_offers=True,
        )
        return changed

    async def override(self, *, draft_id: int, user_id: str, reason: str) -> Draft | None:
        """An agent vouches for a blocked text, saying why; recorded, and only for this text."""
        overridden = await self._store.override_blocks(
            draft_id=draft_id, user_id=user_id, reason=reason
        )
        if overridden is not None:
            metrics.DECISIONS.labels(action="override").inc()
        await self._cards.refresh(draft_id)
        return overridden

    async def _pending(self, draft_id: int) -> tuple[Draft, Complaint] | None:
        draft = await self._store.get_draft(draft_id=draft_id)
        if draft is None or not draft.can_send:
            return None
        complaint = await self._store.get_complaint(complaint_id=draft.complaint_id)
        return (draft, complaint) if complaint is not None else None

    async def _review(
        self, complaint: Complaint, draft: Draft, text: str, offers: Sequence[ProposedOffer]
    ) -> ReviewedText:
        return self._pipeline.recheck(
            await self._reader.complaint(complaint),
            text,
            offers,
            guidance=complaint.guidance,
            previous=draft.as_result(),
        )

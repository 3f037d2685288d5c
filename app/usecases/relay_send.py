"""Approve in a relay channel: copy-ready text for the agent, then "Mark as sent".

A relayed customer wrote by e-mail or chat, so nothing is ever posted into
the relay thread as if it reached them.  Approve hands the agent the exact
text to paste (``approve.copy_ready``), and leaves the draft pending: it still
changes with edits and offers.  "Mark as sent" is the decision: the store's
atomic claim (one reply per customer message, double clicks included), the
draft marked sent with no Slack post behind it, a ``copy`` decision in the
audit trail, the card redrawn, and the reply's promises handed to the
follow-through like any sent reply.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog

from app import metrics
from app.domain.approval import fingerprint, sendable
from app.domain.draft_life import DraftState
from app.store import Store
from app.usecases.approve import BLOCKED, CHANGED_SINCE_SEEN, WHY_NOT_SENDABLE, SendOutcome
from app.usecases.cards import CardDesk

log = structlog.get_logger(__name__)

NOT_RELAYED = "This draft answers a customer in Slack: use *Approve & send* on its card."
MARKED = "Marked as sent. The card shows who sent it."


class MarkRelayedSent:
    def __init__(
        self,
        store: Store,
        cards: CardDesk,
        *,
        follow_through: Callable[..., Awaitable[object]] | None = None,
    ) -> None:
        self._store = store
        self._cards = cards
        self._follow_through = follow_through

    async def __call__(self, *, draft_id: int, user_id: str, seen: str | None) -> SendOutcome:
        """Record that ``user_id`` sent the draft themselves; ``seen`` is the text's fingerprint."""
        current = await self._store.get_draft(draft_id=draft_id)
        if current is None:
            return SendOutcome(False, "That draft no longer exists.")
        complaint = await self._store.get_complaint(complaint_id=current.complaint_id)
        if complaint is None or not complaint.is_relayed:
            return SendOutcome(False, NOT_RELAYED)
        if seen and current.status == DraftState.PENDING and seen != fingerprint(current.text):
            return SendOutcome(False, CHANGED_SINCE_SEEN)
        if current.status == DraftState.PENDING and current.blocked:
            return SendOutcome(False, BLOCKED)
        claim = await self._store.claim_for_send(
            draft_id=draft_id, user_id=user_id, final_text=sendable(current.text),
            text=current.text,
        )
        if claim.changed:
            return SendOutcome(False, CHANGED_SINCE_SEEN)
        if claim.draft is None:
            return SendOutcome(False, WHY_NOT_SENDABLE.get(claim.state, "This draft cannot be sent now."))
        await self._store.mark_sent(
            draft_id=draft_id, attempt=claim.draft.send_attempts, channel=complaint.channel_id,
            ts="",
        )
        await self._store.record_decision(
            draft_id=draft_id, user_id=user_id, action="copy",
            detail={"relayed": True, "form": complaint.relayed_form},
        )
        metrics.DECISIONS.labels(action="copy").inc()
        log.info("relayed_reply_marked_sent", draft_id=draft_id)
        await self._cards.refresh(draft_id)
        if self._follow_through is not None:
            await self._follow_through(draft_id=draft_id)
        return SendOutcome(True, MARKED)

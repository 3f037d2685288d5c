"""The agent's side of a draft: the approve claim, sending, edits, discards, the audit trail.

"An approval sends once, even on a double click or from two instances" is
decided here by one conditional UPDATE (status 'pending' -> 'sending'): the
caller whose UPDATE returns the row posts the reply; every other caller gets
None.  A failed post hands the draft back ('sending' -> 'pending') so it can
be approved again; a sent or discarded draft never can.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.domain.models import ProposedOffer
from app.store.records import Decision, Draft, DraftStateError
from app.store.sessions import StoreSessions
from app.store.tables import DECISION_ACTIONS, DecisionRow, DraftRow

# A draft an agent can still throw away (a failed or half-made one included).
DISCARDABLE = ("pending", "failed", "drafting")


def _check_action(action: str) -> None:
    if action not in DECISION_ACTIONS:
        raise ValueError(f"decision action {action!r} is not one of {DECISION_ACTIONS}")


class ApprovalQueries(StoreSessions):
    async def claim_for_send(self, *, draft_id: int, user_id: str, final_text: str) -> Draft | None:
        """Win the right to post this draft; None if someone else won or it is not pending.

        Also refuses while another version of the same complaint is being
        sent or was sent, so one complaint gets one reply.
        """
        now = self._clock()
        sibling = aliased(DraftRow)
        other_reply = exists().where(
            sibling.complaint_id == DraftRow.complaint_id,
            sibling.id != DraftRow.id,
            sibling.status.in_(("sending", "sent")),
        )
        async with self._write() as session:
            row = await session.scalar(
                update(DraftRow)
                .where(DraftRow.id == draft_id, DraftRow.status == "pending", ~other_reply)
                .values(
                    status="sending", decided_by=user_id, decided_at=now, final_text=final_text,
                    send_attempts=DraftRow.send_attempts + 1, error=None, updated_at=now,
                )
                .returning(DraftRow)
                .execution_options(synchronize_session=False)
            )
            if row is None:
                return None
            # Not an "edit": the caller's final text may differ only by the
            # mentions it neutralised; agents' edits go through record_edit.
            self._add_decision(session, draft_id, user_id, "approve",
                               {"attempt": row.send_attempts,
                                "final_text_differs": final_text != row.text})
            return Draft.from_row(row)

    async def stuck_sends(self, *, older_than_s: float) -> list[Draft]:
        """Drafts left 'sending' longer than a post can take: their sender died mid-send."""
        cutoff = self._clock() - timedelta(seconds=older_than_s)
        async with self._read() as session:
            rows = await session.scalars(
                select(DraftRow).where(DraftRow.status == "sending", DraftRow.updated_at < cutoff)
            )
            return [Draft.from_row(row) for row in rows]

    async def mark_sent(self, *, draft_id: int, channel: str, ts: str) -> None:
        """'sending' -> 'sent', with where the reply landed."""
        async with self._write() as session:
            row = await session.scalar(
                update(DraftRow)
                .where(DraftRow.id == draft_id, DraftRow.status == "sending")
                .values(status="sent", sent_channel=channel, sent_ts=ts, error=None,
                        updated_at=self._clock())
                .returning(DraftRow.id)
                .execution_options(synchronize_session=False)
            )
            if row is None:
                status = await session.scalar(
                    select(DraftRow.status).where(DraftRow.id == draft_id)
                )
                raise DraftStateError(draft_id, status, "only a draft being sent can be sent")

    async def release_send(self, *, draft_id: int, error: str) -> None:
        """Slack refused the reply: 'sending' -> 'pending' so an agent can approve again.

        Records a 'send_failed' decision.  Does nothing if the draft is not 'sending'.
        """
        async with self._write() as session:
            current = await session.scalar(
                select(DraftRow).where(DraftRow.id == draft_id).with_for_update()
            )
            if current is None or current.status != "sending":
                return
            claimer = current.decided_by or ""
            attempt = current.send_attempts
            await session.execute(
                update(DraftRow).where(DraftRow.id == draft_id, DraftRow.status == "sending")
                .values(status="pending", error=error, decided_by=None, decided_at=None,
                        updated_at=self._clock())
                .execution_options(synchronize_session=False)
            )
            self._add_decision(session, draft_id, claimer, "send_failed",
                               {"error": error, "attempt": attempt})

    async def record_edit(
        self, *, draft_id: int, user_id: str, new_text: str,
        offer_ids: list[str] | None = None, offers: list[ProposedOffer] | None = None,
    ) -> Draft | None:
        """Replace a pending draft's text, and its offers if given; None if not pending.

        Offers come either as ``offer_ids``, picked (in that order) from what
        this draft proposed, an offer an earlier edit removed included, or as
        ``offers`` the caller has already checked against the catalog.  The
        audit trail keeps the text before and after.  Raises ``ValueError``
        for an id the draft never proposed.
        """
        return await self._change_pending(draft_id, user_id, "edit", new_text, offer_ids, offers)

    async def set_offers(
        self, *, draft_id: int, user_id: str, offers: list[ProposedOffer],
    ) -> Draft | None:
        """The agent picked other offers ('choose_offer'); None if the draft is not pending."""
        return await self._change_pending(draft_id, user_id, "choose_offer", None, None, offers)

    async def _change_pending(
        self, draft_id: int, user_id: str, action: str, new_text: str | None,
        offer_ids: list[str] | None, offers: list[ProposedOffer] | None,
    ) -> Draft | None:
        if offer_ids is not None and offers is not None:
            raise ValueError("give offer_ids or offers, not both")
        async with self._write() as session:
            row = await session.scalar(
                select(DraftRow).where(DraftRow.id == draft_id).with_for_update()
            )
            if row is None or row.status != "pending":
                return None
            proposed = await self._offers_ever_proposed(session, row)
            if offer_ids is not None:
                unknown = [offer_id for offer_id in offer_ids if offer_id not in proposed]
                if unknown:
                    raise ValueError(
                        f"draft {draft_id} never proposed offer(s) {', '.join(unknown)}")
                chosen = [proposed[offer_id] for offer_id in dict.fromkeys(offer_ids)]
            elif offers is not None:
                chosen = [offer.model_dump(mode="json") for offer in offers]
            else:
                chosen = list(row.offers)
            detail: dict[str, Any] = {
                "offers_before": [o["offer_id"] for o in row.offers],
                "offers_after": [o["offer_id"] for o in chosen],
                "proposed_offers": list(proposed.values()),
            }
            if new_text is not None:
                detail |= {"before": row.text, "after": new_text}
                row.text = new_text
            row.offers = chosen
            row.updated_at = self._clock()
            self._add_decision(session, draft_id, user_id, action, detail)
            await session.flush()
            return Draft.from_row(row)

    async def _offers_ever_proposed(
        self, session: AsyncSession, row: DraftRow,
    ) -> dict[str, dict[str, Any]]:
        """This draft's offers now and any an earlier change removed, by id."""
        proposed: dict[str, dict[str, Any]] = {o["offer_id"]: o for o in row.offers}
        earlier = await session.scalars(
            select(DecisionRow.detail)
            .where(DecisionRow.draft_id == row.id,
                   DecisionRow.action.in_(("edit", "choose_offer")))
            .order_by(DecisionRow.id)
        )
        for detail in earlier:
            for offer in detail.get("proposed_offers", []):
                proposed.setdefault(offer["offer_id"], offer)
        return proposed

    async def discard(self, *, draft_id: int, user_id: str, reason: str) -> Draft | None:
        """Throw the draft away for good; None if it was not pending (or failed/drafting)."""
        now = self._clock()
        async with self._write() as session:
            row = await session.scalar(
                update(DraftRow)
                .where(DraftRow.id == draft_id, DraftRow.status.in_(DISCARDABLE))
                .values(status="discarded", decided_by=user_id, decided_at=now,
                        discard_reason=reason, updated_at=now)
                .returning(DraftRow)
                .execution_options(synchronize_session=False)
            )
            if row is None:
                return None
            self._add_decision(session, draft_id, user_id, "discard", {"reason": reason})
            return Draft.from_row(row)

    async def record_decision(
        self, *, draft_id: int, user_id: str, action: str, detail: dict[str, Any] | None = None,
    ) -> None:
        """Add a line to the audit trail (regenerate, choose_offer, copy, ...)."""
        _check_action(action)
        async with self._write() as session:
            self._add_decision(session, draft_id, user_id, action, detail or {})

    async def decisions(self, *, draft_id: int) -> list[Decision]:
        """The audit trail of one draft, oldest first."""
        async with self._read() as session:
            rows = await session.scalars(
                select(DecisionRow).where(DecisionRow.draft_id == draft_id)
                .order_by(DecisionRow.id)
            )
            return [Decision.from_row(row) for row in rows]

    def _add_decision(
        self, session: AsyncSession, draft_id: int, user_id: str, action: str,
        detail: dict[str, Any],
    ) -> None:
        session.add(DecisionRow(draft_id=draft_id, user_id=user_id, action=action,
                                detail=detail, at=self._clock()))

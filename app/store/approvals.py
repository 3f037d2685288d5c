"""The agent's side of a draft: the approve claim, sending, edits, discards, the audit trail.

"An approval sends once, even on a double click or from two instances" is
decided here by one conditional UPDATE (the claim move, pending -> sending):
the caller whose UPDATE returns the row posts the reply; every other caller
is told the state that refused it.  One customer message gets at most one
reply: the claim also looks at every draft answering the same message.  A
post Slack refused hands the draft back (release, sending -> pending) so it
can be approved again; a sent or discarded draft never can.  Release and
completion name the attempt they finish, so a late answer to an older
attempt changes nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import exists, func, literal, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.domain.approval import fingerprint
from app.domain.draft_life import ANSWERED, EDITABLE, DraftMove, DraftState, sources_of
from app.domain.models import Flag, ProposedOffer, Step
from app.store.drafts import move_update
from app.store.records import Decision, Draft, SendClaim
from app.store.sessions import StoreSessions
from app.store.tables import DECISION_ACTIONS, ComplaintRow, DecisionRow, DraftRow, UTCDateTime


def _check_action(action: str) -> None:
    if action not in DECISION_ACTIONS:
        raise ValueError(f"decision action {action!r} is not one of {DECISION_ACTIONS}")


def _blocks(flags: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(f["code"], f["message"]) for f in flags if f.get("severity") == "block"}


class ApprovalQueries(StoreSessions):
    async def claim_for_send(
        self, *, draft_id: int, user_id: str, final_text: str, text: str | None = None,
    ) -> SendClaim:
        """Win the right to post this draft, or learn the state that refused the claim.

        Also refuses while any other draft answering the same customer message
        is being sent or was sent (another version of this complaint, or a
        draft of the same message asked for by watch, shortcut, mention or
        command), so one message gets one reply; the refused claim then
        reports the draft as still pending.  With ``text`` (what the agent
        saw), the claim also refuses a draft whose text changed since, with
        ``changed`` set.  Each won claim counts an attempt (``send_attempts``):
        its release and its completion must name it.
        """
        now = self._clock()
        async with self._write() as session:
            message = (await session.execute(
                select(ComplaintRow.channel_id, ComplaintRow.message_ts)
                .join(DraftRow, DraftRow.complaint_id == ComplaintRow.id)
                .where(DraftRow.id == draft_id)
            )).first()
            if message is None:
                return SendClaim(draft=None, state=None)
            channel_id, message_ts = message
            await self._lock_message(session, channel_id, message_ts)
            sibling, theirs = aliased(DraftRow), aliased(ComplaintRow)
            other_reply = exists().where(
                theirs.channel_id == channel_id,
                theirs.message_ts == message_ts,
                sibling.complaint_id == theirs.id,
                sibling.id != DraftRow.id,
                sibling.status.in_(sorted(ANSWERED)),
            )
            unchanged = DraftRow.text == text if text is not None else true()
            row = await session.scalar(
                move_update(DraftMove.CLAIM, DraftRow.id == draft_id, ~other_reply, unchanged)
                .values(
                    decided_by=user_id, decided_at=now, final_text=final_text,
                    send_attempts=DraftRow.send_attempts + 1, error=None, updated_at=now,
                    claimed_at=func.coalesce(DraftRow.claimed_at, literal(now, UTCDateTime())),
                )
                .returning(DraftRow)
            )
            if row is None:
                current = (await session.execute(
                    select(DraftRow.status, DraftRow.text).where(DraftRow.id == draft_id)
                )).first()
                if current is None:
                    return SendClaim(draft=None, state=None)
                state = DraftState(current.status)
                return SendClaim(draft=None, state=state, changed=(
                    state in EDITABLE and text is not None and current.text != text))
            # Not an "edit": the caller's final text may differ only by the
            # mentions it neutralised; agents' edits go through record_edit.
            self._add_decision(session, draft_id, user_id, "approve",
                               {"attempt": row.send_attempts,
                                "final_text_differs": final_text != row.text})
            claimed = Draft.from_row(row)
            return SendClaim(draft=claimed, state=claimed.status)

    async def stuck_sends(self, *, older_than_s: float) -> list[Draft]:
        """Drafts left sending longer than a post can take: their sender died or lost track.

        Each comes with its ``send_attempts``, the attempt a settlement must name.
        """
        cutoff = self._clock() - timedelta(seconds=older_than_s)
        in_flight = sources_of(DraftMove.DELIVER)
        async with self._read() as session:
            rows = await session.scalars(
                select(DraftRow).where(DraftRow.status.in_(sorted(in_flight)),
                                       DraftRow.updated_at < cutoff)
            )
            return [Draft.from_row(row) for row in rows]

    async def mark_sent(self, *, draft_id: int, attempt: int, channel: str, ts: str) -> bool:
        """Sending -> sent, with where the reply landed; False (no change) unless ``attempt`` holds it.

        A send settled or retried under a slow sender is then never
        overwritten by that sender's late answer.
        """
        async with self._write() as session:
            row = await session.scalar(
                move_update(DraftMove.DELIVER, DraftRow.id == draft_id,
                            DraftRow.send_attempts == attempt)
                .values(sent_channel=channel, sent_ts=ts, error=None, updated_at=self._clock())
                .returning(DraftRow.id)
            )
            return row is not None

    async def release_send(self, *, draft_id: int, attempt: int, error: str) -> bool:
        """Slack did not post the reply: sending -> pending so an agent can approve again.

        Acts only while ``attempt`` is the send in flight, and then records a
        'send_failed' decision; returns whether it acted.
        """
        async with self._write() as session:
            claimer = await session.scalar(
                select(DraftRow.decided_by)
                .where(DraftRow.id == draft_id,
                       DraftRow.status.in_(sorted(sources_of(DraftMove.RELEASE))),
                       DraftRow.send_attempts == attempt)
                .with_for_update()
            )
            released = await session.scalar(
                move_update(DraftMove.RELEASE, DraftRow.id == draft_id,
                            DraftRow.send_attempts == attempt)
                .values(error=error, decided_by=None, decided_at=None, final_text=None,
                        updated_at=self._clock())
                .returning(DraftRow.id)
            )
            if released is None:
                return False
            self._add_decision(session, draft_id, claimer or "", "send_failed",
                               {"error": error, "attempt": attempt})
            return True

    async def record_edit(
        self, *, draft_id: int, user_id: str, new_text: str,
        offer_ids: list[str] | None = None, offers: list[ProposedOffer] | None = None,
        flags: list[Flag] | None = None, checklist: dict[Step, bool] | None = None,
    ) -> Draft | None:
        """Replace a pending draft's text, and its offers if given; None if not pending.

        Offers come either as ``offer_ids``, picked (in that order) from what
        this draft proposed, an offer an earlier edit removed included, or as
        ``offers`` the caller has already checked against the catalog.
        ``flags`` and ``checklist``, when given, are the guardrails' verdict
        on the new text and replace the old one.  The audit trail keeps the
        text before and after.  Raises ``ValueError`` for an id the draft
        never proposed.
        """
        return await self._change_pending(
            draft_id, user_id, "edit", new_text, offer_ids, offers, flags, checklist)

    async def set_offers(
        self, *, draft_id: int, user_id: str, offers: list[ProposedOffer],
        new_text: str | None = None, flags: list[Flag] | None = None,
        checklist: dict[Step, bool] | None = None,
    ) -> Draft | None:
        """The agent picked other offers ('choose_offer'); None if the draft is not pending.

        ``new_text`` is the reply rewritten for them, when the caller has it;
        ``flags`` and ``checklist`` as for ``record_edit``.
        """
        return await self._change_pending(
            draft_id, user_id, "choose_offer", new_text, None, offers, flags, checklist)

    async def override_blocks(self, *, draft_id: int, user_id: str, reason: str) -> Draft | None:
        """An agent lets this text go out despite its block flags, saying why.

        The override holds for the current text only (its fingerprint is
        stored); it goes to the audit trail as an 'override' decision with
        the reason and the flags it set aside.  None if the draft is not
        pending.
        """
        async with self._write() as session:
            row = await session.scalar(
                select(DraftRow).where(DraftRow.id == draft_id).with_for_update()
            )
            if row is None or row.status not in EDITABLE:
                return None
            row.override_fingerprint = fingerprint(row.text)
            row.updated_at = self._clock()
            self._add_decision(session, draft_id, user_id, "override", {
                "reason": reason, "fingerprint": row.override_fingerprint,
                "flags": [f for f in row.flags or [] if f.get("severity") == "block"],
            })
            await session.flush()
            return Draft.from_row(row)

    async def _change_pending(
        self, draft_id: int, user_id: str, action: str, new_text: str | None,
        offer_ids: list[str] | None, offers: list[ProposedOffer] | None,
        flags: list[Flag] | None, checklist: dict[Step, bool] | None,
    ) -> Draft | None:
        if offer_ids is not None and offers is not None:
            raise ValueError("give offer_ids or offers, not both")
        async with self._write() as session:
            row = await session.scalar(
                select(DraftRow).where(DraftRow.id == draft_id).with_for_update()
            )
            if row is None or row.status not in EDITABLE:
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
            if flags is not None:
                new_flags = [flag.model_dump(mode="json") for flag in flags]
                # An override covers the blocks the agent saw, not ones found since.
                if _blocks(new_flags) != _blocks(row.flags or []):
                    row.override_fingerprint = None
                row.flags = new_flags
            if checklist is not None:
                row.checklist = {step.value: done for step, done in checklist.items()}
            row.offers = chosen
            # The card and the next approval read ``text``; nothing older may linger.
            row.final_text = None
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
        """Throw the draft away for good; None if it was not open (pending, failed, drafting)."""
        now = self._clock()
        async with self._write() as session:
            row = await session.scalar(
                move_update(DraftMove.DISCARD, DraftRow.id == draft_id)
                .values(decided_by=user_id, decided_at=now, discard_reason=reason,
                        updated_at=now)
                .returning(DraftRow)
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

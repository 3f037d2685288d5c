"""Approve & send: the one place a reply reaches a customer.

The store's atomic claim (pending -> sending) decides which click wins, so a
double click or two instances send once.  If Slack clearly refuses the
reply, the claim (that attempt) is released and the card says so: the
approval stays retryable.  An unknown outcome (a timeout, a 5xx: Slack may
have posted) is never taken as "not sent": the draft stays sending and the
settle sweep decides by looking for our post.  A later attempt first looks
for an earlier post instead of sending twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

import structlog

from app import metrics
from app.domain.approval import fingerprint, sendable
from app.domain.draft_life import DraftState
from app.store import Draft, Store
from app.usecases.cards import CardDesk
from app.usecases.commitments import FollowThrough, TimeZones
from app.usecases.ports import SlackFailure, SlackPort, slack_did_not_post

log = structlog.get_logger(__name__)

WHY_NOT_SENDABLE: dict[DraftState | None, str] = {
    DraftState.SENDING: "Another agent is sending this reply right now.",
    # Still pending after a lost claim: another reply to the same customer message went out.
    DraftState.PENDING: "Another reply to this customer message is being sent or was sent.",
    None: "That draft no longer exists.",
    DraftState.SENT: "This reply was already sent.",
    DraftState.DISCARDED: "This draft was discarded.",
    DraftState.SUPERSEDED: (
        "The customer wrote again since this draft; it can no longer be sent. Use the newer card."
    ),
    DraftState.DRAFTING: "The draft is not ready yet.",
    DraftState.FAILED: "There is no draft to send: press Retry first.",
}
UNCONFIRMED = "Slack did not confirm the reply"
CHECKING = (
    "It may have been posted, so do not send it again: tactful is checking the thread, "
    "and the card will say within a few minutes whether it went out."
)
BLOCKED = (
    "A check blocks this draft (see the :no_entry: flags on the card). Nothing was sent: "
    "edit the text, or press Override and say why it is right."
)
CHANGED_SINCE_SEEN = (
    "The draft changed after you saw it (regenerated or edited). "
    "Nothing was sent: read the updated card and approve again."
)


@dataclass(frozen=True)
class SendOutcome:
    sent: bool
    message: str
    # Set when the agent posts the reply themselves (TACTFUL_SEND_AS=agent).
    text_for_agent: str | None = None
    # A relayed customer's draft: the value of the "Mark as sent" button (app.usecases.relay_send).
    mark_sent: str | None = None


COPY_READY = (
    "Here is the reply, ready to paste into your e-mail or chat with the customer. "
    "Nothing was sent: press *Mark as sent* once you have sent it."
)


def copy_ready(draft: Draft) -> SendOutcome:
    """What Approve answers for a relayed customer: the text, and the value Mark as sent carries."""
    return SendOutcome(
        False, COPY_READY, text_for_agent=sendable(draft.text),
        mark_sent=f"{draft.id}:{fingerprint(draft.text)}",
    )


class ApproveAndSend:
    def __init__(
        self,
        store: Store,
        slack: SlackPort,
        cards: CardDesk,
        *,
        send_as: Literal["bot", "agent"],
        follow_up_hours: float = 0.0,
        follow_through: FollowThrough | None = None,
    ) -> None:
        self._store = store
        self._slack = slack
        self._cards = cards
        self._send_as = send_as
        # The sent reply's promises become stored commitments, reminded in the upkeep loop.
        self._follow_through = follow_through or FollowThrough(
            store, zones=TimeZones(), remind_before=timedelta(hours=1),
            follow_up_hours=follow_up_hours,
        )

    async def __call__(self, *, draft_id: int, user_id: str, seen: str | None) -> SendOutcome:
        """Send the draft; ``seen`` is the fingerprint of the text the agent approved."""
        current = await self._store.get_draft(draft_id=draft_id)
        if current is None:
            return SendOutcome(False, "That draft no longer exists.")
        if seen and current.status == DraftState.PENDING and seen != fingerprint(current.text):
            return SendOutcome(False, CHANGED_SINCE_SEEN)
        if current.status == DraftState.PENDING and current.blocked:
            return SendOutcome(False, BLOCKED)
        complaint = await self._store.get_complaint(complaint_id=current.complaint_id)
        assert complaint is not None
        if current.status == DraftState.PENDING and complaint.is_relayed:
            # An e-mail or chat customer: nothing is posted, the agent gets the text to paste.
            return copy_ready(current)
        text = sendable(current.text)
        claim = await self._store.claim_for_send(
            draft_id=draft_id, user_id=user_id, final_text=text, text=current.text
        )
        if claim.changed:
            return SendOutcome(False, CHANGED_SINCE_SEEN)
        if claim.draft is None:
            return SendOutcome(False, WHY_NOT_SENDABLE.get(claim.state, "This draft cannot be sent now."))
        claimed = claim.draft
        thread_ts = complaint.thread_ts or complaint.message_ts

        attempt = claimed.send_attempts
        if self._send_as == "agent":
            await self._store.mark_sent(
                draft_id=draft_id, attempt=attempt, channel=complaint.channel_id, ts=""
            )
            await self._store.record_decision(draft_id=draft_id, user_id=user_id, action="copy")
            metrics.DECISIONS.labels(action="copy").inc()
            await self._cards.refresh(draft_id)
            await self._follow_through(draft_id=draft_id)
            return SendOutcome(True, "Here is the reply to post in the customer's thread:", text)

        posted_ts = None
        if attempt > 1:
            # An earlier attempt's post may have landed after all.
            try:
                posted_ts = await self._slack.find_reply(
                    channel=complaint.channel_id, thread_ts=thread_ts, draft_id=draft_id,
                    since=claimed.claimed_at or claimed.created_at,
                )
            except SlackFailure as exc:
                return await self._unconfirmed(draft_id, exc.error)
        if posted_ts is None:
            try:
                posted_ts = await self._slack.post_reply(
                    channel=complaint.channel_id, thread_ts=thread_ts, text=text, draft_id=draft_id
                )
            except Exception as exc:
                error = exc.error if isinstance(exc, SlackFailure) else type(exc).__name__
                metrics.SLACK_SEND_FAILURES.labels(error=error[:40]).inc()
                if not slack_did_not_post(error):
                    return await self._unconfirmed(draft_id, error)
                log.warning("reply_refused", draft_id=draft_id, error=error)
                await self._store.release_send(
                    draft_id=draft_id, attempt=attempt, error=f"Slack refused the reply ({error})"
                )
                await self._cards.refresh(draft_id)
                return SendOutcome(
                    False,
                    f"Slack refused the reply ({error}). Nothing was sent; approve again to retry.",
                )
        if not await self._store.mark_sent(
            draft_id=draft_id, attempt=attempt, channel=complaint.channel_id, ts=posted_ts
        ):
            # Settled by the sweep meanwhile (it found this same post).
            log.warning("reply_settled_elsewhere", draft_id=draft_id, attempt=attempt)
        metrics.DECISIONS.labels(action="approve").inc()
        log.info("reply_sent", draft_id=draft_id)
        await self._cards.refresh(draft_id)
        await self._follow_through(draft_id=draft_id)
        return SendOutcome(True, "Sent.")

    async def _unconfirmed(self, draft_id: int, error: str) -> SendOutcome:
        """Slack may have posted: the draft stays sending until the sweep looks in the thread."""
        log.warning("reply_unconfirmed", draft_id=draft_id, error=error)
        await self._store.note_draft_error(draft_id=draft_id, error=f"{UNCONFIRMED} ({error})")
        await self._cards.refresh(draft_id)
        return SendOutcome(False, f"{UNCONFIRMED} ({error}). {CHECKING}")

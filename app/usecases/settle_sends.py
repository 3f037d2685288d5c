"""Settle sends left in flight: sent if our post is in the thread, else approvable again.

A send is left in flight when its process died mid-send, or when Slack gave
an answer that does not say whether it posted (a timeout, a 5xx).  Only our
post found in the thread, or its absence there well after the attempt,
decides; a thread that cannot be read decides nothing.
"""

from __future__ import annotations

import structlog

from app.store import Store
from app.usecases.cards import CardDesk
from app.usecases.commitments import FollowThrough
from app.usecases.ports import SlackFailure, SlackPort

log = structlog.get_logger(__name__)

# Longer than any post can take, so a live send is never settled under its sender.
STUCK_AFTER_S = 120.0


class SettleSends:
    def __init__(
        self, store: Store, slack: SlackPort, cards: CardDesk,
        follow_through: FollowThrough | None = None,
    ) -> None:
        self._store = store
        self._slack = slack
        self._cards = cards
        self._follow_through = follow_through

    async def __call__(self, *, older_than_s: float = STUCK_AFTER_S) -> int:
        """Settle every send stuck longer than ``older_than_s``; returns how many were settled."""
        settled = 0
        for draft in await self._store.stuck_sends(older_than_s=older_than_s):
            complaint = await self._store.get_complaint(complaint_id=draft.complaint_id)
            if complaint is None:
                continue
            try:
                posted = await self._slack.find_reply(
                    channel=complaint.channel_id,
                    thread_ts=complaint.thread_ts or complaint.message_ts,
                    draft_id=draft.id,
                    since=draft.claimed_at or draft.created_at,
                )
            except SlackFailure:
                continue  # cannot tell yet; try again on the next sweep
            # Bound to the attempt found stuck: a send that moved on meanwhile is left alone.
            if posted:
                acted = await self._store.mark_sent(
                    draft_id=draft.id, attempt=draft.send_attempts,
                    channel=complaint.channel_id, ts=posted,
                )
            else:
                acted = await self._store.release_send(
                    draft_id=draft.id, attempt=draft.send_attempts,
                    error="the reply was not found in the thread; nothing was sent",
                )
            if not acted:
                continue
            log.warning("stuck_send_settled", draft_id=draft.id, sent=bool(posted))
            await self._cards.refresh(draft.id)
            if posted and self._follow_through is not None:
                # Found sent: its promises are owned by the agent who approved it.
                await self._follow_through(draft_id=draft.id)
            settled += 1
        return settled

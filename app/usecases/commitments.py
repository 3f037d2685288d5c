"""Follow-through on sent replies: their promises, the reminders, the follow-up draft.

- ``FollowThrough`` runs once a reply is sent (by the bot, or handed to the
  agent to post): it stores how much agents changed the model's text, and
  the reply's commitments ("by Friday") owned by the agent who approved it.
  A reply with the model's follow-up note but no time in it gets one
  commitment ``follow_up_hours`` later (``TACTFUL_FOLLOW_UP_HOURS``).
- ``Reminders`` runs in the upkeep loop: each due commitment is claimed in
  the store (once across instances), cancelled if an agent has posted in the
  thread since the reply, else the owner gets a direct message with a link
  and a "Draft the follow-up" button.
- ``DraftFollowUp`` is that button: it queues a draft of a follow-up in the
  same thread, whose card reaches only the agent who asked.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from difflib import SequenceMatcher

import structlog

from app.domain.commitments import Commitment as Promise
from app.domain.commitments import find_commitments, zone
from app.domain.draft_life import DraftState
from app.domain.edit_diff import edit_size, model_text
from app.domain.models import ThreadMessage
from app.store import NewComplaint, Store
from app.store.commitments import Commitment, NewCommitment
from app.usecases.ports import SlackFailure, SlackPort, slack_did_not_post

log = structlog.get_logger(__name__)

# A message this close to the sent reply is the reply itself (posted by the agent, reformatted).
SAME_TEXT = 0.9


@dataclass(frozen=True)
class TimeZones:
    """The customers' time zones: one default and per-channel overrides (IANA names)."""

    default: str = "UTC"
    per_channel: dict[str, str] = field(default_factory=dict)

    def of(self, channel_id: str) -> str:
        return self.per_channel.get(channel_id, self.default)


class FollowThrough:
    def __init__(
        self, store: Store, *, zones: TimeZones, remind_before: timedelta, follow_up_hours: float,
    ) -> None:
        self._store = store
        self._zones = zones
        self._remind_before = remind_before
        self._follow_up_hours = follow_up_hours

    async def __call__(self, *, draft_id: int) -> None:
        """Never raises: a sent reply stays sent whatever happens here."""
        try:
            await self._follow(draft_id)
        except Exception:
            log.exception("follow_through_failed", draft_id=draft_id)

    async def _follow(self, draft_id: int) -> None:
        draft = await self._store.get_draft(draft_id=draft_id)
        if draft is None or draft.status != DraftState.SENT or not draft.decided_by:
            return
        complaint = await self._store.get_complaint(complaint_id=draft.complaint_id)
        if complaint is None:
            return
        sent_text = draft.final_text or draft.text
        trail = [(d.action, d.detail) for d in await self._store.decisions(draft_id=draft_id)]
        size = edit_size(model_text(draft.text, trail), sent_text)
        await self._store.set_edit_size(draft_id=draft_id, chars=size.chars, ratio=size.ratio)

        sent_at = draft.decided_at or datetime.now(UTC)
        time_zone = self._zones.of(complaint.channel_id)
        # dateparser reads its language data on first use: off the event loop.
        promises = await asyncio.to_thread(find_commitments, sent_text, now=sent_at, tz=time_zone)
        if not promises and draft.follow_up and self._follow_up_hours:
            due = sent_at + timedelta(hours=self._follow_up_hours)
            promises = [Promise(draft.follow_up, due, "")]
        added = await self._store.add_commitments(
            draft_id=draft_id, owner_id=draft.decided_by, channel_id=complaint.channel_id,
            thread_ts=complaint.thread_ts or complaint.message_ts, reply_ts=draft.sent_ts or "",
            time_zone=time_zone,
            commitments=[
                NewCommitment(phrase=p.phrase, due_at=p.due_at,
                              remind_at=max(p.due_at - self._remind_before, sent_at))
                for p in promises
            ],
        )
        if added:
            log.info("commitments_recorded", draft_id=draft_id, count=added)


def _ts_after(ts: str | None, after: float) -> bool:
    try:
        return ts is not None and float(ts) > after
    except ValueError:
        return False


def _same_text(a: str, b: str) -> bool:
    return SequenceMatcher(None, a.split(), b.split(), autojunk=False).ratio() >= SAME_TEXT


def agent_posted_since(thread: list[ThreadMessage], commitment: Commitment, reply_text: str) -> bool:
    """Has an agent (or tactful, for another approved reply) written in the thread after the reply?"""
    after = float(commitment.reply_ts) if commitment.reply_ts else commitment.created_at.timestamp()
    return any(
        message.author in ("agent", "bot")
        and _ts_after(message.ts, after)
        and message.ts != commitment.reply_ts
        and not _same_text(message.text, reply_text)
        for message in thread
    )


def _when(commitment: Commitment) -> str:
    local = commitment.due_at.astimezone(zone(commitment.time_zone))
    return f"{local:%a %d %b %H:%M} ({commitment.time_zone})"


class Reminders:
    def __init__(self, store: Store, slack: SlackPort) -> None:
        self._store = store
        self._slack = slack

    async def __call__(self) -> int:
        """Remind every due commitment this instance wins; returns how many reminders went out."""
        sent = 0
        for due in await self._store.due_reminders():
            commitment = await self._store.claim_reminder(commitment_id=due.id)
            if commitment is None:
                continue  # another instance (or an earlier sweep) has it
            sent += await self._remind(commitment)
        return sent

    async def _remind(self, commitment: Commitment) -> int:
        draft = await self._store.get_draft(draft_id=commitment.draft_id)
        reply_text = (draft.final_text or draft.text) if draft is not None else ""
        try:
            thread = await self._slack.read_thread(
                channel=commitment.channel_id, thread_ts=commitment.thread_ts
            )
        except SlackFailure as exc:
            # Unread, it might already be answered: look again on the next sweep.
            log.warning("reminder_thread_unreadable", commitment_id=commitment.id, error=exc.error)
            await self._store.release_reminder(commitment_id=commitment.id)
            return 0
        if agent_posted_since(thread, commitment, reply_text):
            await self._store.finish_reminder(commitment_id=commitment.id, outcome="cancelled")
            log.info("reminder_cancelled", commitment_id=commitment.id)
            return 0
        link = await self._slack.permalink(
            channel=commitment.channel_id, ts=commitment.reply_ts or commitment.thread_ts,
            thread_ts=commitment.thread_ts,
        )
        text = (
            f":alarm_clock: Your reply promised \"{commitment.phrase}\", due {_when(commitment)}. "
            "Nobody has written in the thread since: follow up with the customer."
        )
        try:
            await self._slack.remind_commitment(
                user_id=commitment.owner_id, text=text, link=link, commitment_id=commitment.id
            )
        except SlackFailure as exc:
            if slack_did_not_post(exc.error):
                await self._store.release_reminder(commitment_id=commitment.id)
            else:
                # It may have been posted: never risk a second reminder.
                await self._store.finish_reminder(commitment_id=commitment.id, outcome="unconfirmed")
            log.warning("reminder_not_sent", commitment_id=commitment.id, error=exc.error)
            return 0
        await self._store.finish_reminder(commitment_id=commitment.id, outcome="reminded")
        log.info("reminder_sent", commitment_id=commitment.id)
        return 1


class DraftFollowUp:
    def __init__(self, store: Store, slack: SlackPort) -> None:
        self._store = store
        self._slack = slack

    async def __call__(self, *, commitment_id: int, user_id: str) -> tuple[bool, str]:
        """Queue a follow-up draft for ``user_id``; (queued, what to tell them)."""
        commitment = await self._store.get_commitment(commitment_id=commitment_id)
        draft = (
            await self._store.get_draft(draft_id=commitment.draft_id) if commitment else None
        )
        complaint = (
            await self._store.get_complaint(complaint_id=draft.complaint_id) if draft else None
        )
        if commitment is None or complaint is None:
            return False, (
                "That conversation is no longer stored (it is older than the retention period). "
                "Open the thread and write the follow-up yourself."
            )
        if commitment.follow_up_complaint_id is not None:
            return False, "A follow-up draft was already asked for: its card is in your DM with tactful."
        anchor = commitment.reply_ts or await self._newest_ts(commitment) or complaint.message_ts
        accepted = await self._store.accept_complaint(complaint=NewComplaint(
            team_id=complaint.team_id, channel_id=complaint.channel_id, message_ts=anchor,
            thread_ts=commitment.thread_ts, user_id=complaint.user_id,
            user_name=complaint.user_name, permalink=complaint.permalink,
            # Already redacted when it was stored; the thread gives the pipeline the rest.
            text=complaint.text, source="follow_up", requested_by=user_id,
            guidance=(
                f"This is a follow-up. Our earlier reply in this thread promised: "
                f"\"{commitment.phrase}\" (due {_when(commitment)}). Write a short message to the "
                "customer about that promise: where it stands and what happens next."
            ),
        ))
        if accepted is None:
            return False, "A follow-up draft was already asked for: its card is in your DM with tactful."
        await self._store.set_follow_up(
            commitment_id=commitment.id, complaint_id=accepted.complaint.id
        )
        return True, "Drafting the follow-up: its card will appear in your DM with tactful."

    async def _newest_ts(self, commitment: Commitment) -> str | None:
        """The agent posted the reply themselves: the follow-up answers the thread's last message."""
        try:
            thread = await self._slack.read_thread(
                channel=commitment.channel_id, thread_ts=commitment.thread_ts
            )
        except SlackFailure:
            return None
        return thread[-1].ts if thread else None

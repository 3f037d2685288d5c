"""Intake: a message becomes a stored complaint with a durable draft job.

Runs before Slack gets its ack, so everything here is bounded: one agent
lookup with a time limit, and a couple of short store writes.  The LLM work
happens later in the job runner.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import structlog

from app.domain.channels import ChannelKind, ChannelKinds
from app.domain.limits import cap_text, with_cut_note
from app.domain.redact import redact
from app.store import AlreadyDelivered, ComplaintSource, Job, JobClaim, NewComplaint, Store
from app.usecases.ports import SlackPort
from app.usecases.relay_intake import RelayOutcome, relay_refusal, relayed_complaint

log = structlog.get_logger(__name__)

# Slack wants its ack within 3 s; the author lookup gets a small share of that.
AGENT_LOOKUP_S = 1.0

WatchOutcome = (
    Literal[
        "accepted",
        "duplicate_message",
        "duplicate_delivery",
        "ignored_channel",
        "ignored_empty",
        "ignored_agent",
    ]
    | RelayOutcome
)


@dataclass(frozen=True, kw_only=True)
class Message:
    """A person's message as the adapter parsed it (bots and edits already left out)."""

    team_id: str
    channel: str
    ts: str
    # None when the message starts its own thread.
    thread_ts: str | None
    user: str
    # The author's workspace, when Slack says (Slack Connect guests differ from ours).
    user_team: str | None
    text: str

    @property
    def root(self) -> str:
        return self.thread_ts or self.ts


@dataclass(frozen=True)
class WatchResult:
    outcome: WatchOutcome
    # Drafts this message made stale; their cards must be redrawn.
    superseded: list[int] = field(default_factory=list)
    # The drafting job, when the caller's claim took it at once.
    job: Job | None = None


class Intake:
    def __init__(
        self,
        store: Store,
        slack: SlackPort,
        *,
        watched_channels: list[str],
        home_team_id: str | None,
        max_message_chars: int,
        relay_channels: Sequence[str] = (),
        channels: ChannelKinds | None = None,
    ) -> None:
        self._store = store
        self._slack = slack
        # Playbooks may add relay channels later (channels.add_relay).
        self.channels = channels or ChannelKinds(support=watched_channels, relay=relay_channels)
        self._home_team = home_team_id
        self._max_chars = max_message_chars

    async def watched_message(
        self, message: Message, *, claim: JobClaim | None = None, event_id: str | None = None
    ) -> WatchResult:
        """A message in a channel: store it as a complaint if a customer wrote it there.

        With ``claim`` its drafting job is taken by that worker as it is stored.
        ``event_id`` (Slack's) is recorded with the complaint: a redelivery of a
        stored one is ``duplicate_delivery``.  A message left alone records
        nothing, and its redelivery is left alone again.
        """
        try:
            return await self._watched(message, claim, event_id)
        except AlreadyDelivered:
            return WatchResult("duplicate_delivery")

    async def _watched(
        self, message: Message, claim: JobClaim | None, event_id: str | None
    ) -> WatchResult:
        kind = self.channels.kind_of(message.channel)
        if kind is None:
            return WatchResult("ignored_channel")
        text = message.text.strip()
        if not text:
            return WatchResult("ignored_empty")
        if kind == ChannelKind.RELAY:
            return await self._relayed(message, claim, event_id)
        if await self._from_agent(message.user, message.user_team):
            return WatchResult("ignored_agent")
        # A message that starts its own thread has nothing older to supersede.
        superseded = (
            await self._store.supersede_thread(
                channel_id=message.channel, thread_ts=message.root, newer_than_ts=message.ts
            )
            if message.thread_ts
            else []
        )
        accepted = await self._store.accept_complaint(
            complaint=self._complaint(message, text, source="watch"),
            claim=claim,
            event_id=event_id,
        )
        return WatchResult(
            "accepted" if accepted else "duplicate_message",
            [d.id for d in superseded],
            accepted.job if accepted else None,
        )

    async def _relayed(
        self, message: Message, claim: JobClaim | None, event_id: str | None
    ) -> WatchResult:
        """An agent's paste in a relay channel: the customer it quotes complains, not the agent."""
        refused = relay_refusal(message, home_team=self._home_team)
        if refused:
            return WatchResult(refused)
        complaint = relayed_complaint(message, max_chars=self._max_chars)
        if complaint is None:
            return WatchResult("ignored_relay_chatter")
        accepted = await self._store.accept_complaint(
            complaint=complaint, claim=claim, event_id=event_id
        )
        if accepted is None:
            return WatchResult("duplicate_message")
        return WatchResult("accepted", job=accepted.job)

    async def requested(
        self,
        message: Message,
        *,
        source: ComplaintSource,
        asker: str,
        guidance: str | None = None,
    ) -> bool:
        """An agent asked for a draft of ``message``; False when one was already asked for."""
        accepted = await self._store.accept_complaint(
            complaint=self._complaint(
                message, message.text.strip(), source=source, asker=asker, guidance=guidance
            )
        )
        return accepted is not None

    async def latest_customer_message(
        self, *, team_id: str, channel: str, thread_ts: str, skip_ts: str
    ) -> Message | None:
        """The newest message a customer wrote in the thread (an @mention's target).

        In a relay thread every author is an agent: the paste that starts it is the target.
        """
        thread = await self._slack.read_thread(channel=channel, thread_ts=thread_ts)
        if self.channels.is_relay(channel):
            thread = [entry for entry in thread if entry.ts == thread_ts]
            return next((
                Message(
                    team_id=team_id, channel=channel, ts=entry.ts or "", thread_ts=None,
                    user=entry.user_id or "", user_team=None, text=entry.text,
                )
                for entry in thread if entry.text.strip()
            ), None)
        for entry in reversed(thread):
            if entry.ts != skip_ts and entry.author == "customer" and entry.text.strip():
                return Message(
                    team_id=team_id, channel=channel, ts=entry.ts or "", thread_ts=thread_ts,
                    user=entry.user_id or "", user_team=None, text=entry.text,
                )
        return None

    def _complaint(
        self,
        message: Message,
        text: str,
        *,
        source: ComplaintSource,
        asker: str | None = None,
        guidance: str | None = None,
    ) -> NewComplaint:
        if self.channels.is_relay(message.channel):
            # A draft asked for on a paste (shortcut, mention): the pasted customer's.
            relayed = relayed_complaint(
                message, max_chars=self._max_chars, source=source, asker=asker, guidance=guidance
            )
            if relayed is not None:
                return relayed
        return NewComplaint(
            team_id=message.team_id,
            channel_id=message.channel,
            message_ts=message.ts,
            thread_ts=message.root,
            user_id=message.user,
            # Stored with the complaint when no Slack call is needed: the draft's write
            # then has no link to add.
            permalink=self._slack.known_permalink(
                channel=message.channel, ts=message.ts, thread_ts=message.root
            ),
            # Capped before the redactor reads it: the customer decides how long it is.
            text=redact(with_cut_note(cap_text(text, self._max_chars))).text,
            source=source,
            requested_by=asker,
            guidance=redact(cap_text(guidance, self._max_chars).text).text if guidance else None,
        )

    async def _from_agent(self, user: str, team: str | None) -> bool:
        """Is the author an agent?  Bounded, because the ack waits for it.

        A customer from another workspace needs no lookup.  When the lookup is
        slow the message is treated as a customer's: an extra card in the
        review channel is better than a complaint nobody sees.
        """
        if team and self._home_team and team != self._home_team:
            return False
        try:
            return await asyncio.wait_for(
                self._slack.is_agent(user, team_id=team), AGENT_LOOKUP_S
            )
        except TimeoutError:
            log.warning("agent_lookup_slow", user=user)
            return False

"""What the store hands out and takes in: frozen snapshots, never live ORM rows.

A ``Draft`` read here can be kept across awaits, passed to Block Kit builders
or compared in tests without a session behind it.  JSON columns are parsed
back into the domain models (``ProposedOffer``, ``Flag``, ``Triage``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from app.domain.approval import fingerprint
from app.domain.draft_life import DraftState, can_move
from app.domain.models import DraftResult, Flag, ProposedOffer, Step, Triage
from app.store.tables import (
    COMPLAINT_SOURCES,
    ComplaintRow,
    DecisionRow,
    DraftRow,
    JobRow,
    JobState,
)

ComplaintSource = Literal["watch", "shortcut", "mention", "command", "cli", "follow_up"]
JobKind = Literal["draft", "regenerate", "brief"]


class DraftStateError(Exception):
    """A draft is not in a state that allows the operation (or does not exist)."""

    def __init__(self, draft_id: int, status: DraftState | None, wanted: str) -> None:
        self.draft_id = draft_id
        self.status = status
        state = "does not exist" if status is None else f"is {status}"
        super().__init__(f"draft {draft_id} {state}; {wanted}")


class AlreadyDelivered(Exception):
    """Slack delivered this event before (a retry): nothing was stored for it again."""

    def __init__(self, event_id: str) -> None:
        self.event_id = event_id
        super().__init__(f"event {event_id} was delivered before")


@dataclass(frozen=True, kw_only=True)
class NewComplaint:
    """A complaint as a listener hands it in (text already PII-redacted)."""

    team_id: str
    channel_id: str
    message_ts: str
    user_id: str
    text: str
    source: ComplaintSource
    # None means the message is the top of its own thread.
    thread_ts: str | None = None
    user_name: str = ""
    permalink: str | None = None
    requested_by: str | None = None
    guidance: str | None = None
    # "relay" for a customer's e-mail or chat an agent pasted (app.domain.channels).
    channel_kind: str = "customer"
    # A relayed paste's form and quoted history (see ComplaintRow.relayed).
    relayed: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.source not in COMPLAINT_SOURCES:
            raise ValueError(f"complaint source {self.source!r} is not one of {COMPLAINT_SOURCES}")


@dataclass(frozen=True, kw_only=True)
class Complaint:
    id: int
    team_id: str
    channel_id: str
    message_ts: str
    thread_ts: str
    user_id: str
    user_name: str
    permalink: str | None
    text: str
    source: str
    requested_by: str | None
    guidance: str | None
    created_at: datetime
    channel_kind: str = "customer"
    relayed: dict[str, Any] | None = None

    @property
    def is_relayed(self) -> bool:
        """An agent pasted the customer's words: the reply goes out by e-mail or chat, not here."""
        return self.channel_kind == "relay"

    @property
    def relayed_form(self) -> str:
        """email, chat or phone for a relayed complaint; "" otherwise."""
        return str((self.relayed or {}).get("form") or "") if self.is_relayed else ""

    @classmethod
    def from_row(cls, row: ComplaintRow) -> Complaint:
        return cls(
            id=row.id, team_id=row.team_id, channel_id=row.channel_id,
            message_ts=row.message_ts, thread_ts=row.thread_ts, user_id=row.user_id,
            user_name=row.user_name, permalink=row.permalink, text=row.text,
            source=row.source, requested_by=row.requested_by, guidance=row.guidance,
            created_at=row.created_at, channel_kind=row.channel_kind or "customer",
            relayed=row.relayed,
        )


@dataclass(frozen=True, kw_only=True)
class AcceptedJob:
    """A complaint newly stored together with the job that will draft it."""

    complaint: Complaint
    job_id: int
    # The job, when it was taken by the accepting worker in the same write (JobClaim).
    job: Job | None = None

    @property
    def complaint_id(self) -> int:
        return self.complaint.id


@dataclass(frozen=True)
class JobClaim:
    """A worker taking the job it queues at once, leased as ``claim_jobs`` would lease it."""

    worker: str
    lease_s: float


@dataclass(frozen=True, kw_only=True)
class Job:
    id: int
    kind: str
    complaint_id: int | None
    draft_id: int | None
    payload: dict[str, Any]
    status: JobState
    attempts: int
    not_before: datetime
    lease_owner: str | None
    lease_until: datetime | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    # Set on a job the accepting worker took in the same write (JobClaim): its
    # complaint as just stored, which has no draft yet, so the job need not read it.
    accepted: Complaint | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_row(cls, row: JobRow) -> Job:
        return cls(
            id=row.id, kind=row.kind, complaint_id=row.complaint_id, draft_id=row.draft_id,
            payload=dict(row.payload or {}), status=JobState(row.status), attempts=row.attempts,
            not_before=row.not_before, lease_owner=row.lease_owner,
            lease_until=row.lease_until, last_error=row.last_error,
            created_at=row.created_at, updated_at=row.updated_at,
        )


@dataclass(frozen=True, kw_only=True)
class Draft:
    """One version of the reply to a complaint, with its card and its fate."""

    id: int
    complaint_id: int
    version: int
    status: DraftState
    # What the card shows and the next approval sends; every edit writes here.
    text: str
    # The exact text of the send in flight or sent; None while the draft can change.
    final_text: str | None
    offers: list[ProposedOffer]
    checklist: dict[Step, bool]
    flags: list[Flag]
    triage: Triage | None
    follow_up: str
    tone: str | None
    prompt_version: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    llm_ms: float
    card_channel: str | None
    card_ts: str | None
    error: str | None
    decided_by: str | None
    decided_at: datetime | None
    discard_reason: str | None
    sent_channel: str | None
    sent_ts: str | None
    send_attempts: int
    created_at: datetime
    updated_at: datetime
    # When the first approve click claimed it (None until then).
    claimed_at: datetime | None = None
    # Fingerprint of the text an agent overrode the block flags for.
    override_fingerprint: str | None = None
    # The playbook the draft came from (its version is prompt_version).
    playbook: str | None = None

    def as_result(self) -> DraftResult | None:
        """The draft as the pipeline's result, to rewrite it; None before it was drafted."""
        if self.triage is None:
            return None
        return DraftResult(
            text=self.text,
            offers=self.offers,
            checklist=self.checklist,
            flags=self.flags,
            follow_up=self.follow_up,
            triage=self.triage,
            prompt_version=self.prompt_version,
            model=self.model,
            playbook=self.playbook or "",
        )

    @property
    def blocked(self) -> bool:
        """Does a block flag hold Approve back?  Until the text changes or an agent overrides it.

        An override counts only for the text it was given for: an edit
        brings the blocks of the new text back.
        """
        return any(flag.severity == "block" for flag in self.flags) and (
            self.override_fingerprint != fingerprint(self.text)
        )

    @property
    def can_send(self) -> bool:
        """May an approve click claim it now (by the table: only a pending draft)?"""
        return can_move(self.status, DraftState.SENDING)

    @classmethod
    def from_row(cls, row: DraftRow) -> Draft:
        return cls(
            id=row.id, complaint_id=row.complaint_id, version=row.version,
            status=DraftState(row.status),
            text=row.text, final_text=row.final_text,
            offers=[ProposedOffer.model_validate(o) for o in row.offers or []],
            checklist={Step(k): bool(v) for k, v in (row.checklist or {}).items()},
            flags=[Flag.model_validate(f) for f in row.flags or []],
            triage=Triage.model_validate(row.triage) if row.triage else None,
            follow_up=row.follow_up, tone=row.tone, prompt_version=row.prompt_version,
            model=row.model, prompt_tokens=row.prompt_tokens,
            completion_tokens=row.completion_tokens, llm_ms=row.llm_ms,
            card_channel=row.card_channel, card_ts=row.card_ts, error=row.error,
            decided_by=row.decided_by, decided_at=row.decided_at,
            discard_reason=row.discard_reason, sent_channel=row.sent_channel,
            sent_ts=row.sent_ts, send_attempts=row.send_attempts,
            created_at=row.created_at, updated_at=row.updated_at,
            claimed_at=row.claimed_at, override_fingerprint=row.override_fingerprint,
            playbook=row.playbook,
        )


@dataclass(frozen=True, kw_only=True)
class SendClaim:
    """What an approve click's claim got: the draft it won, or the state that refused it.

    Truthy when the claim was won.  A refused claim whose ``state`` is still
    pending means another reply to the same customer message (another
    version, or a draft of it asked for another way) is being sent or was sent.
    """

    # Set only when this click won: the draft, now sending, its attempt counted.
    draft: Draft | None
    # The draft's state after the attempt; None if there is no such draft.
    state: DraftState | None
    # Refused because the draft's text is no longer the one the caller saw.
    changed: bool = False

    @property
    def won(self) -> bool:
        return self.draft is not None

    def __bool__(self) -> bool:
        return self.won


@dataclass(frozen=True, kw_only=True)
class Decision:
    """One line of a draft's audit trail."""

    id: int
    draft_id: int
    user_id: str
    action: str
    detail: dict[str, Any]
    at: datetime

    @classmethod
    def from_row(cls, row: DecisionRow) -> Decision:
        return cls(id=row.id, draft_id=row.draft_id, user_id=row.user_id, action=row.action,
                   detail=dict(row.detail or {}), at=row.at)


@dataclass(frozen=True, kw_only=True)
class CategoryCount:
    category: str
    complaints: int
    sent: int


@dataclass(frozen=True, kw_only=True)
class ChannelKindCount:
    """Complaints of one channel kind (customer, relay) and how many got their reply out."""

    kind: str
    complaints: int
    sent: int


@dataclass(frozen=True, kw_only=True)
class Stats:
    """Figures for App Home and ``tactful stats``, over drafts created since ``since``.

    Rates are ``None`` when their denominator is zero, so "no data" never reads as 0 %.
    """

    since: datetime | None
    complaints: int
    drafts_total: int
    by_status: dict[str, int]
    sent: int
    discarded: int
    pending: int
    # sent / (sent + discarded): of the drafts an agent decided on, how many went out.
    acceptance_rate: float | None
    edited_before_send: int
    # edited_before_send / sent
    edit_rate: float | None
    # complaints per triage category (of their latest triaged draft), most frequent first
    by_category: list[CategoryCount]
    # categories seen on at least two complaints, most frequent first (at most five)
    top_recurring_categories: list[str]
    # from a draft's creation to the agent's approve/discard click
    median_seconds_to_decision: float | None
    # from the complaint arriving to the reply being approved for sending
    median_seconds_to_reply: float | None
    prompt_tokens: int
    completion_tokens: int
    # audit-trail lines on those drafts, per action (approve, edit, discard, ...)
    actions: dict[str, int] = field(default_factory=dict)
    # complaints per channel kind (customer channels, relay channels), most frequent first
    by_channel_kind: list[ChannelKindCount] = field(default_factory=list)
    # incidents (bursts shown on one card; merged ones not counted), the complaints they
    # answer, and how many agents declared by hand
    incidents: int = 0
    incident_complaints: int = 0
    declared_incidents: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

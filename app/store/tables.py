"""The schema: SQLAlchemy 2 typed ORM tables, the single source of column truth.

The Alembic scripts under ``migrations/versions`` create exactly these tables
(a test compares the migrated database against this metadata).  Domain
objects live in JSON columns as ``model_dump(mode="json")``; times are stored
as UTC and always read back timezone-aware, on SQLite too.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from app.domain.draft_life import DraftState


class JobState(StrEnum):
    """A job's life: queued -> running -> done or failed, or queued again to retry later.

    A running job whose lease expired is claimed again while still running.
    """

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


COMPLAINT_SOURCES = ("watch", "shortcut", "mention", "command", "cli", "follow_up")
JOB_KINDS = ("draft", "regenerate", "brief", "incident_send")
JOB_STATUSES = tuple(state.value for state in JobState)
DRAFT_STATUSES = tuple(state.value for state in DraftState)
# No CHECK constraint holds these (a new action needs no migration); the store checks them.
DECISION_ACTIONS = ("approve", "edit", "regenerate", "choose_offer", "discard", "send_failed",
                    "copy", "override")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is UTC in the database and timezone-aware in Python.

    SQLite has no time zone type and hands back naive values; storing every
    value as naive UTC there keeps string comparisons (lease expiry,
    not_before) correct.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to the store; use UTC-aware times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UTCDateTime(),
        # none_as_null: a missing triage is SQL NULL, not the JSON text "null".
        dict[str, Any]: JSON(none_as_null=True),
        list[Any]: JSON(none_as_null=True),
    }


class SlackEventRow(Base):
    """One Slack event delivery we have accepted; the primary key is the dedupe."""

    __tablename__ = "slack_events"

    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(index=True)


class ComplaintRow(Base):
    __tablename__ = "complaints"
    __table_args__ = (
        UniqueConstraint("channel_id", "message_ts", "source",
                         name="uq_complaints_channel_message_source"),
        Index("ix_complaints_thread", "channel_id", "thread_ts"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(64))
    channel_id: Mapped[str] = mapped_column(String(64))
    message_ts: Mapped[str] = mapped_column(String(32))
    thread_ts: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(64))
    user_name: Mapped[str] = mapped_column(String(255))
    permalink: Mapped[str | None] = mapped_column(Text)
    # Already PII-redacted by the caller; the store never sees raw customer text.
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))
    requested_by: Mapped[str | None] = mapped_column(String(64))
    guidance: Mapped[str | None] = mapped_column(Text)
    # customer or relay (app.domain.channels): in a relay channel an agent pasted the
    # customer's e-mail or chat; user_name is then the customer's, user_id the agent's.
    channel_kind: Mapped[str] = mapped_column(String(16), server_default="customer")
    # A relayed paste: {"form": email|chat|phone, "history": [ThreadMessage dumps]},
    # redacted like the text.
    relayed: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(index=True)


class BriefRow(Base):
    """The last escalation brief of a thread, valid while the thread's last message is ``last_ts``."""

    __tablename__ = "briefs"
    __table_args__ = (
        UniqueConstraint("channel_id", "thread_ts", name="uq_briefs_channel_thread"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel_id: Mapped[str] = mapped_column(String(64))
    thread_ts: Mapped[str] = mapped_column(String(32))
    last_ts: Mapped[str] = mapped_column(String(32))
    message_count: Mapped[int] = mapped_column(Integer)
    brief: Mapped[dict[str, Any]]
    # Every message ts the brief cites, so a link can be rebuilt without the model.
    refs: Mapped[list[Any]]
    prompt_version: Mapped[str] = mapped_column(String(128))
    requested_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]


class JobRow(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(_in("status", JOB_STATUSES), name="status"),
        Index("ix_jobs_claim", "status", "not_before"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"))
    draft_id: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    not_before: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(255))
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class DraftRow(Base):
    __tablename__ = "drafts"
    __table_args__ = (
        UniqueConstraint("complaint_id", "version", name="uq_drafts_complaint_version"),
        CheckConstraint(_in("status", DRAFT_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)
    text: Mapped[str] = mapped_column(Text)
    final_text: Mapped[str | None] = mapped_column(Text)
    offers: Mapped[list[Any]]
    checklist: Mapped[dict[str, Any]]
    flags: Mapped[list[Any]]
    triage: Mapped[dict[str, Any] | None]
    follow_up: Mapped[str] = mapped_column(Text)
    tone: Mapped[str | None] = mapped_column(String(32))
    prompt_version: Mapped[str] = mapped_column(String(128))
    # The playbook (prompts/playbooks.yaml) the draft came from; prompt_version is its
    # version. None for drafts made before playbooks had names.
    playbook: Mapped[str | None] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(255))
    prompt_tokens: Mapped[int] = mapped_column(Integer)
    completion_tokens: Mapped[int] = mapped_column(Integer)
    llm_ms: Mapped[float] = mapped_column(Float)
    card_channel: Mapped[str | None] = mapped_column(String(64))
    card_ts: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None]
    discard_reason: Mapped[str | None] = mapped_column(Text)
    sent_channel: Mapped[str | None] = mapped_column(String(64))
    sent_ts: Mapped[str | None] = mapped_column(String(32))
    send_attempts: Mapped[int] = mapped_column(Integer)
    # When the first approve click claimed it: every post of this draft is
    # younger, so looking for one starts here however long the thread is.
    claimed_at: Mapped[datetime | None]
    # The fingerprint of the text an agent overrode the block flags for; an
    # edit makes it stale, so the blocks hold again for the new text.
    override_fingerprint: Mapped[str | None] = mapped_column(String(64))
    # How much agents changed the model's text before it went out (set when sent, for
    # ``tactful report``): characters changed, and 1 - difflib's similarity ratio.
    edit_chars: Mapped[int | None] = mapped_column(Integer)
    edit_ratio: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]


class DecisionRow(Base):
    """The audit trail: who did what to which draft (edits keep before/after)."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id"), index=True)
    user_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]]
    at: Mapped[datetime]


class CommitmentRow(Base):
    """A promise a sent reply made ("by Friday"), owned by the agent who approved it.

    ``(draft_id, position)`` makes recording it idempotent (the approve path and
    the settle sweep may both see one send); ``reminded_at`` set by one
    conditional UPDATE is the claim that makes its reminder go out once.
    """

    __tablename__ = "commitments"
    __table_args__ = (
        UniqueConstraint("draft_id", "position", name="uq_commitments_draft_position"),
        Index("ix_commitments_due", "reminded_at", "remind_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # No foreign key: retention deletes old drafts without looking here.
    draft_id: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    owner_id: Mapped[str] = mapped_column(String(64))
    channel_id: Mapped[str] = mapped_column(String(64))
    thread_ts: Mapped[str] = mapped_column(String(32))
    # The sent reply's ts; empty when the agent posted the text themselves.
    reply_ts: Mapped[str] = mapped_column(String(32))
    phrase: Mapped[str] = mapped_column(Text)
    time_zone: Mapped[str] = mapped_column(String(64))
    due_at: Mapped[datetime]
    remind_at: Mapped[datetime]
    created_at: Mapped[datetime]
    reminded_at: Mapped[datetime | None]
    # reminded | cancelled (an agent posted in the thread since) | failed
    outcome: Mapped[str | None] = mapped_column(String(16))
    follow_up_complaint_id: Mapped[int | None] = mapped_column(Integer)


class IncidentRow(Base):
    """A burst of complaints about one problem, shown on one card (or declared by an agent).

    ``revision`` counts changes of membership and state; the card remembers
    the revision it last drew, so a redraw that raced a change draws again.
    """

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_open", "status", "last_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # open | sending (Approve for all) | sent | merged (into merged_into)
    status: Mapped[str] = mapped_column(String(16))
    # The vector space of the centroid: "lexical" or the embedding model's name.
    source: Mapped[str] = mapped_column(String(255))
    centroid: Mapped[list[Any]]
    members: Mapped[int] = mapped_column(Integer)
    # No foreign keys: retention deletes old complaints without looking here.
    lead_complaint_id: Mapped[int | None] = mapped_column(Integer)
    context: Mapped[str | None] = mapped_column(Text)
    declared_by: Mapped[str | None] = mapped_column(String(64))
    shared_text: Mapped[str | None] = mapped_column(Text)
    sent_by: Mapped[str | None] = mapped_column(String(64))
    merged_into: Mapped[int | None] = mapped_column(Integer)
    revision: Mapped[int] = mapped_column(Integer)
    drawn_revision: Mapped[int] = mapped_column(Integer)
    card_channel: Mapped[str | None] = mapped_column(String(64))
    card_ts: Mapped[str | None] = mapped_column(String(32))
    first_at: Mapped[datetime | None]
    last_at: Mapped[datetime]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class IncidentMemberRow(Base):
    """One watched complaint's place in the grouping: its vector, and its incident if any.

    The unique ``complaint_id`` means a complaint is placed once, in one incident.
    """

    __tablename__ = "incident_members"
    __table_args__ = (
        UniqueConstraint("complaint_id", name="uq_incident_members_complaint_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    complaint_id: Mapped[int] = mapped_column(Integer)
    incident_id: Mapped[int | None] = mapped_column(Integer, index=True)
    source: Mapped[str] = mapped_column(String(255))
    vector: Mapped[list[Any]]
    # An agent took it out to handle it alone: it never joins an incident again.
    pulled_out: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(index=True)

"""The nouns of the drafting domain: complaints, triage, drafts, offers, briefs.

Everything here is plain pydantic so the CLI, the Slack bot, the eval tool and
the store can share it without knowing about each other.  The ``*Output``
models are the JSON schemas the LLM must fill in; the others are what the
pipeline hands back after the guardrails have had their say.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Step(StrEnum):
    """The complaint-handling method, in the order a reply follows it."""

    ACKNOWLEDGE = "acknowledge"
    CLARIFY = "clarify"
    EXPLAIN = "explain"
    OFFER = "offer"
    EXPECTATIONS = "expectations"
    APOLOGIZE = "apologize"
    FOLLOW_UP = "follow_up"


STEP_LABELS: dict[Step, str] = {
    Step.ACKNOWLEDGE: "Acknowledge and empathize",
    Step.CLARIFY: "Clarify the problem",
    Step.EXPLAIN: "Explain without excuses",
    Step.OFFER: "Offer alternatives",
    Step.EXPECTATIONS: "Set expectations",
    Step.APOLOGIZE: "Apologize and thank",
    Step.FOLLOW_UP: "Follow-up owned",
}

Tone = Literal["friendly", "formal", "concise", "warmer"]
TONES: tuple[str, ...] = ("friendly", "formal", "concise", "warmer")


class ChatMessage(BaseModel):
    """One message of a chat request, free of any SDK type."""

    model_config = ConfigDict(frozen=True)

    role: Literal["system", "user", "assistant"]
    content: str


class TokenUsage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
        )


class ThreadMessage(BaseModel):
    """An earlier message in the same conversation, for context."""

    author: Literal["customer", "agent", "bot"]
    text: str
    ts: str | None = None
    name: str | None = None
    # Who wrote it, when the source knows (a Slack user id); never sent to the LLM.
    user_id: str | None = Field(default=None, exclude=True)
    # Pasted by an agent from an e-mail or chat (app.domain.relay): the customer could have
    # written any of it, so it never backs a fact in a reply, whoever it names as author.
    relayed: bool = False


class Complaint(BaseModel):
    """What a customer wrote, plus the context an agent would have."""

    text: str = Field(min_length=1)
    customer_name: str | None = None
    channel_context: str | None = None
    history: list[ThreadMessage] = Field(default_factory=list)
    # Picks the playbook (prompts/playbooks.yaml); None for text from nowhere (CLI, eval).
    channel_id: str | None = None
    # An agent pasted it into a relay channel (app.domain.relay): the reply goes out by
    # e-mail or chat, not into a Slack thread, and is addressed to ``customer_name``.
    relayed: bool = False


# --- what the LLM returns -------------------------------------------------


class TriageOutput(BaseModel):
    """What the model reads from a new message before replying to it."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["complaint", "question", "praise", "other"]
    needs_reply: bool
    category: str = Field(description="short snake_case category, e.g. delivery, billing")
    urgency: Literal["low", "normal", "high", "critical"]
    sentiment: Literal["angry", "frustrated", "disappointed", "neutral", "positive"]
    language: str = Field(description="ISO 639-1 code of the customer's language")
    needs_escalation: bool
    escalation_reasons: list[str]
    summary: str = Field(description="the problem restated in one sentence")


class StepEvidence(BaseModel):
    model_config = ConfigDict(extra="forbid")

    step: Step
    quote: str = Field(description="the exact sentence of the reply that covers this step")


class OfferProposal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    offer_id: str = Field(description="an id from the offer catalog, nothing else")
    amount: float | None = Field(
        description="money amount or percent, in the offer's unit; null when it has none"
    )
    why_it_helps: str


class DraftOutput(BaseModel):
    """JSON schema for the drafting and tone-rewrite prompts."""

    model_config = ConfigDict(extra="forbid")

    reply: str
    steps: list[StepEvidence]
    offers: list[OfferProposal]
    follow_up: str = Field(description="what the agent should check back on, and when")


class FirstDraftOutput(BaseModel):
    """JSON schema for the first draft: the triage, then the reply, in one answer.

    The triage comes first so the model has sorted the message before it
    writes; a message that needs no reply comes back with the reply empty.
    """

    model_config = ConfigDict(extra="forbid")

    triage: TriageOutput
    reply: str = Field(description="empty when no reply is wanted")
    steps: list[StepEvidence]
    offers: list[OfferProposal]
    follow_up: str = Field(description="what the agent should check back on, and when")

    def draft(self) -> DraftOutput:
        return DraftOutput(
            reply=self.reply, steps=self.steps, offers=self.offers, follow_up=self.follow_up
        )


class BriefItem(BaseModel):
    """One line of a brief, with the ids (Slack ts) of the messages it rests on."""

    model_config = ConfigDict(extra="forbid")

    text: str
    refs: list[str]


class PromiseItem(BaseModel):
    """A commitment made to the customer and not yet kept."""

    model_config = ConfigDict(extra="forbid")

    who: str
    what: str
    # "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM" in UTC, resolved from the thread; null when none given.
    due: str | None
    refs: list[str]


class BriefOutput(BaseModel):
    """JSON schema for the escalation brief prompt (a whole thread, or the parts combined)."""

    model_config = ConfigDict(extra="forbid")

    issue: str
    timeline: list[BriefItem]
    offered: list[BriefItem]
    declined: list[BriefItem]
    open_promises: list[PromiseItem]
    customer_mood: str
    next_step: str


class BriefPartOutput(BriefOutput):
    """JSON schema for the summary of one part of a thread too long for one call."""


# --- what the pipeline returns ---------------------------------------------

FlagCode = Literal[
    "offer_not_in_catalog",
    "offer_above_authority",
    "offer_duplicate",
    "too_few_offers",
    "avoid_phrase",
    "unbacked_amount",
    "amount_not_offered",
    "amount_above_authority",
    "unbacked_date",
    "unbacked_promise",
    "unlisted_offer",
    "offer_not_in_text",
    "offers_changed",
    "unknown_link",
    "mention_neutralized",
    "needs_escalation",
    "step_missing",
]
# block: Approve stays off until the text changes or an agent overrides it (recorded);
# warning: the agent should look before approving; info: for the record.
Severity = Literal["info", "warning", "block"]

# The severity each flag gets unless the code that raises it says otherwise (an
# offer the guardrails removed is a warning; the same offer kept by an agent's
# pick is a block).  The blocks are what could reach a customer as a commitment
# nobody may make: a link to an unknown site, money or a percentage no listed
# offer carries or beyond authority, an offer the text makes without listing it.
FLAG_SEVERITY: dict[str, Severity] = {
    "offer_not_in_catalog": "warning",
    "offer_above_authority": "warning",
    "offer_duplicate": "info",
    "too_few_offers": "info",
    "avoid_phrase": "warning",
    "unbacked_amount": "block",
    "amount_not_offered": "warning",
    "amount_above_authority": "block",
    "unbacked_date": "warning",
    "unbacked_promise": "warning",
    "unlisted_offer": "block",
    "offer_not_in_text": "warning",
    # The agent picked other offers and the reply is being rewritten for them.
    "offers_changed": "block",
    "unknown_link": "block",
    "mention_neutralized": "info",
    "needs_escalation": "warning",
    "step_missing": "info",
}


class Flag(BaseModel):
    """Something a reviewer should look at before approving; a *block* disables Approve."""

    code: FlagCode
    message: str
    severity: Severity = "warning"

    @model_validator(mode="before")
    @classmethod
    def _severity_of_code(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("severity") is None:
            code = data.get("code")
            if isinstance(code, str) and code in FLAG_SEVERITY:
                return {**data, "severity": FLAG_SEVERITY[code]}
        return data

    @property
    def blocks(self) -> bool:
        return self.severity == "block"


class ProposedOffer(BaseModel):
    """An offer that survived the guardrails: in the catalog, within authority."""

    offer_id: str
    label: str
    why_it_helps: str
    amount: float | None = None
    unit: Literal["amount", "percent"] | None = None
    currency: str | None = None

    def describe(self) -> str:
        if self.amount is None:
            return self.label
        if self.unit == "percent":
            return f"{self.label} ({self.amount:g}%)"
        return f"{self.label} ({self.amount:g} {self.currency or ''})".replace(" )", ")")


class Triage(TriageOutput):
    model_config = ConfigDict(extra="ignore")

    @property
    def wants_draft(self) -> bool:
        """A complaint someone should answer: what watching a channel drafts."""
        return self.kind == "complaint" and self.needs_reply


class DraftResult(BaseModel):
    """A reviewed draft: everything a card, the CLI or the store needs."""

    text: str
    offers: list[ProposedOffer]
    checklist: dict[Step, bool]
    flags: list[Flag]
    follow_up: str
    triage: Triage
    prompt_version: str
    model: str
    tone: str | None = None
    usage: TokenUsage = Field(default_factory=TokenUsage)
    llm_ms: float = 0.0
    playbook: str = ""  # the playbook's name; prompt_version is its version

    @property
    def needs_reply(self) -> bool:
        """False for a watched message the triage found needs no draft: the text is empty."""
        return self.triage.wants_draft or bool(self.text)


class OpenPromise(PromiseItem):
    """A promise with its due time read by code: ``passed`` is judged against now, not by the model."""

    model_config = ConfigDict(extra="ignore")

    due_at: datetime | None = None
    passed: bool | None = None


class Brief(BaseModel):
    """A checked brief: every item's refs exist in the thread; the rest were dropped and counted."""

    model_config = ConfigDict(extra="ignore")

    issue: str
    timeline: list[BriefItem]
    offered: list[BriefItem]
    declined: list[BriefItem]
    open_promises: list[OpenPromise]
    customer_mood: str
    next_step: str
    prompt_version: str = ""
    usage: TokenUsage = Field(default_factory=TokenUsage)
    message_count: int = 0
    # Items whose refs named no message of the thread: dropped, never shown.
    dropped: int = 0
    parts: int = 1
    llm_calls: int = 1

    def refs(self) -> list[str]:
        """Every message ts the brief cites, oldest first, once each."""
        cited = {
            ref
            for items in (self.timeline, self.offered, self.declined, self.open_promises)
            for item in items
            for ref in item.refs
        }
        return sorted(cited, key=_ts_order)


def _ts_order(ts: str) -> tuple[int, str]:
    seconds, _, micros = ts.partition(".")
    return (int(seconds) if seconds.isdigit() else 0, micros)

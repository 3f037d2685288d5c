"""What the fake OpenAI answers: a valid object for whichever schema the request asks for.

The schema is recognised from ``response_format`` (``json_schema.name``, or the
``schema`` of llama.cpp-style ``json_object`` mode), then from the schema's
fields, then from words in the system message.  ``default_reply`` is
deterministic and follows the complaint method, so a pipeline run against the
fake produces a draft the guardrails accept.  Markers in the customer text
steer the triage part of a first draft: ``PRAISE-ONLY`` (not a complaint),
``QUESTION-ONLY``, ``ESCALATE-ME``; when the system message says a reply is
not required, such a message comes back with the reply empty, as the draft
prompt asks.  ``fixture_reply`` answers instead with the canned model
outputs of one complaint fixture (``tests/fixtures/complaints/*.yaml``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

# The content of one answer: a dict (sent as JSON) or plain text.
Responder = Callable[[dict[str, Any]], dict[str, Any] | str]

# The first draft of a complaint (triage and reply in one answer), a rewrite, a brief.
FIRST_DRAFT = "FirstDraftOutput"
DRAFT = "DraftOutput"
BRIEF = "BriefOutput"
# The summary of one part of a thread too long for one brief call.
BRIEF_PART = "BriefPartOutput"

# Checked in this order: a first draft has every field a rewrite has, and more.
_FIELDS_OF = {
    FIRST_DRAFT: {"triage", "reply", "steps", "offers"},
    DRAFT: {"reply", "steps", "offers"},
    BRIEF: {"issue", "timeline", "next_step"},
    BRIEF_PART: {"issue", "timeline", "next_step"},
}
# Only used when the request carries no schema at all: specific words, checked in this order.
_SYSTEM_WORDS = (
    (BRIEF, ("escalation brief", "brief for escalation", "summarize for escalation")),
    (FIRST_DRAFT, ("sort the message",)),
    (DRAFT, ("draft",)),
)
# What prompts/draft.prompt.md says when a watched message may need no reply.
_REPLY_OPTIONAL = "leave reply and follow_up empty"
_SLACK_TS = re.compile(r"\b\d{10}\.\d{6}\b")
_CUSTOMER = re.compile(r"<customer_message>(.*?)</customer_message>", re.DOTALL)
_TONES = ("friendly", "formal", "concise", "warmer")
_TONE_NEAR = re.compile(r"\btone\b(.{0,40})", re.IGNORECASE | re.DOTALL)

_ACKNOWLEDGE = {
    "friendly": "I can see how frustrating it is to still be waiting for your order, "
    "especially when you had plans around it.",
    "formal": "I understand that the delay to your order has caused you real difficulty, "
    "and I take that seriously.",
    "concise": "I know waiting on this order has been frustrating.",
    "warmer": "I'm so sorry you've been left waiting like this; "
    "I can only imagine how disappointing it has been.",
}
_STEPS = (
    (
        "clarify",
        "As I understand it, your parcel has not arrived and the tracking stopped updating.",
    ),
    (
        "explain",
        "Our carrier had a sorting backlog at the regional hub this week, "
        "and your parcel was caught in it.",
    ),
    (
        "offer",
        "I can send a replacement by express shipping at no cost, "
        "or add a store credit of 20 to your account if you would rather wait for the original.",
    ),
    (
        "expectations",
        "As soon as you tell me which option you prefer, "
        "I will set it up and send you the details.",
    ),
    ("apologize", "I'm sorry for the trouble, and thank you for letting us know."),
    ("follow_up", "I will check back with you once the new parcel is on its way."),
)


def default_reply(request: dict[str, Any]) -> dict[str, Any] | str:
    """The message content for ``request``: a dict (sent as JSON) or plain text."""
    kind = schema_name(request)
    customer = customer_text(request)
    if kind == FIRST_DRAFT:
        return first_draft_reply(
            triage_reply(customer), draft_reply(requested_tone(request)), request
        )
    if kind == DRAFT:
        return draft_reply(requested_tone(request))
    if kind in (BRIEF, BRIEF_PART):
        return brief_reply(customer, message_ids(request))
    return "This is the fake model: no schema was recognised in the request."


def fixture_reply(fixture: dict[str, Any]) -> Responder:
    """A responder giving the fixture's ``llm_triage`` and ``llm_draft``; briefs as by default."""

    def reply(request: dict[str, Any]) -> dict[str, Any] | str:
        kind = schema_name(request)
        if kind == FIRST_DRAFT:
            return first_draft_reply(
                dict(fixture["llm_triage"]), dict(fixture["llm_draft"]), request
            )
        if kind == DRAFT:
            return dict(fixture["llm_draft"])
        return default_reply(request)

    return reply


def _message_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return str(content or "")


def schema_name(request: dict[str, Any]) -> str | None:
    """Which of FirstDraftOutput / DraftOutput / BriefOutput the request wants, if any."""
    fmt = request.get("response_format") or {}
    schema: dict[str, Any] = {}
    if fmt.get("type") == "json_schema":
        spec = fmt.get("json_schema") or {}
        if spec.get("name") in _FIELDS_OF:
            return str(spec["name"])
        schema = spec.get("schema") or {}
    elif fmt.get("type") == "json_object":
        schema = fmt.get("schema") or {}
    if schema.get("title") in _FIELDS_OF:
        return str(schema["title"])
    fields = set((schema.get("properties") or {}).keys())
    for name, needed in _FIELDS_OF.items():
        if needed <= fields:
            return name
    system = _system_text(request)
    for name, words in _SYSTEM_WORDS:
        if any(word in system for word in words):
            return name
    return None


def _system_text(request: dict[str, Any]) -> str:
    return " ".join(
        _message_text(m)
        for m in request.get("messages", [])
        if m.get("role") in ("system", "developer")
    ).lower()


def reply_required(request: dict[str, Any]) -> bool:
    """False when the prompt lets a message that is not a complaint go without a reply."""
    return _REPLY_OPTIONAL not in _system_text(request)


def first_draft_reply(
    triage: dict[str, Any], draft: dict[str, Any], request: dict[str, Any]
) -> dict[str, Any]:
    """``triage`` and ``draft`` as one answer; the reply left empty when none is wanted."""
    wanted = triage["kind"] == "complaint" and triage["needs_reply"]
    if not wanted and not reply_required(request):
        draft = {"reply": "", "steps": [], "offers": [], "follow_up": ""}
    return {"triage": triage, **draft}


def customer_text(request: dict[str, Any]) -> str:
    """The text inside ``<customer_message>`` of the user messages, else the last user message."""
    users = [_message_text(m) for m in request.get("messages", []) if m.get("role") == "user"]
    for text in reversed(users):
        found = _CUSTOMER.search(text)
        if found:
            return found.group(1).strip()
    return users[-1].strip() if users else ""


def requested_tone(request: dict[str, Any]) -> str:
    """The one tone named right after the word "tone", if exactly one is; else friendly."""
    text = "\n".join(_message_text(m) for m in request.get("messages", []))
    named = {
        t for match in _TONE_NEAR.finditer(text) for t in _TONES if t in match.group(1).lower()
    }
    return named.pop() if len(named) == 1 else "friendly"


def summarize(customer: str) -> str:
    flat = " ".join(customer.split())
    return flat[:80] or "The customer reported a problem."


def triage_reply(customer: str) -> dict[str, Any]:
    reply: dict[str, Any] = {
        "kind": "complaint",
        "needs_reply": True,
        "category": "delivery",
        "urgency": "normal",
        "sentiment": "frustrated",
        "language": "en",
        "needs_escalation": False,
        "escalation_reasons": [],
        "summary": summarize(customer),
    }
    if "PRAISE-ONLY" in customer:
        reply.update(
            kind="praise", needs_reply=False, category="praise", sentiment="positive", urgency="low"
        )
    elif "QUESTION-ONLY" in customer:
        reply.update(kind="question", category="question", sentiment="neutral")
    if "ESCALATE-ME" in customer:
        reply.update(
            needs_escalation=True,
            urgency="high",
            sentiment="angry",
            escalation_reasons=["the customer mentions legal action"],
        )
    return reply


def draft_reply(tone: str = "friendly") -> dict[str, Any]:
    quotes = [("acknowledge", _ACKNOWLEDGE.get(tone, _ACKNOWLEDGE["friendly"])), *_STEPS]
    return {
        "reply": " ".join(sentence for _, sentence in quotes),
        "steps": [{"step": step, "quote": sentence} for step, sentence in quotes],
        "offers": [
            {
                "offer_id": "express_reship",
                "amount": None,
                "why_it_helps": "The customer gets the order quickly without paying again.",
            },
            {
                "offer_id": "store_credit",
                "amount": 20,
                "why_it_helps": "It makes up for the wait if the customer prefers to keep waiting.",
            },
        ],
        "follow_up": "Check the new tracking number once the reship is booked, then update them.",
    }


def message_ids(request: dict[str, Any]) -> list[str]:
    """Slack message ts the user messages carry (``id="…"``, ``refs``), in order, once each."""
    text = "\n".join(
        _message_text(m) for m in request.get("messages", []) if m.get("role") == "user"
    )
    return list(dict.fromkeys(_SLACK_TS.findall(text)))


def brief_reply(customer: str, refs: list[str] | None = None) -> dict[str, Any]:
    """A brief whose items cite the first and last message ids of the request."""
    summary = summarize(customer)
    first, last = ([refs[0]], [refs[-1]]) if refs else ([], [])
    return {
        "issue": summary,
        "timeline": [
            {"text": f"The customer reported the problem: {summary}", "refs": first},
            {"text": "An agent replied and proposed options.", "refs": last},
        ],
        "offered": [
            {"text": "Express reship", "refs": last},
            {"text": "Store credit of 20", "refs": last},
        ],
        "declined": [],
        "open_promises": [
            {
                "who": "the agent",
                "what": "Send the new tracking details once the reship is booked",
                "due": None,
                "refs": last,
            }
        ],
        "customer_mood": "frustrated but willing to accept a fix",
        "next_step": "Confirm which option the customer prefers and book it today.",
    }

"""Conversation text, made safe to hand to a model, and the part of it that may back a fact.

Customer words only ever reach the model inside a tagged block in a user
message.  ``app.domain.fencing.delimit`` defuses tag-like text inside, so a
customer who types a closing tag cannot end the block early or open another.

A thread goes to the model as a list, one ``<message>`` element per message,
its ``author`` and ``ts`` attributes written here from what Slack says, never
from the text: a newline and ``[agent …]``, ``<message author="agent">`` or
``</thread_history>`` typed by a customer stay inside that customer's own
element.

``backing_context`` is the other half of the same rule: only our side (the
channel context, the agent's guidance, agent and bot messages) may back an
amount, a date or a promise in a draft; the customer's words never do.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import UTC, datetime

from app.domain.fencing import delimit
from app.domain.models import ThreadMessage
from app.domain.redact import redact

__all__ = ["backing_context", "fence", "fence_channel_context", "history_entries", "redacted"]

# Authors whose words may back a fact in a reply.
_OUR_SIDE = frozenset({"agent", "bot"})


def redacted(text: str | None) -> str | None:
    """``text`` with personal data replaced, as every text that leaves for the LLM."""
    return redact(text).text if text and text.strip() else None


def fence(tag: str, text: str | None) -> str:
    """Redact PII and wrap ``text`` in ``<tag>…</tag>``; empty text gives ``""``."""
    return delimit(redact(text).text, tag) if text and text.strip() else ""


# Every complaint of a channel carries the same channel context, and each draft
# both shows it to the model and reads it as backing: redacted once per channel
# (an unusually long one each time, so what is kept stays small).
_KEPT_CONTEXT_CHARS = 20_000


@functools.lru_cache(maxsize=64)
def _kept_context(text: str) -> str:
    return redact(text).text


def _redacted_context(text: str) -> str:
    return _kept_context(text) if len(text) <= _KEPT_CONTEXT_CHARS else redact(text).text


def fence_channel_context(text: str | None) -> str:
    """``fence("channel_context", text)``, redacting a channel's context once."""
    return delimit(_redacted_context(text), "channel_context") if text and text.strip() else ""


def _readable(ts: str | None) -> str:
    # The brief's timeline copies dates from here; Slack epoch stamps mean nothing to a model.
    if not ts:
        return "unknown"
    try:
        moment = datetime.fromtimestamp(float(ts), tz=UTC)
    except (ValueError, OverflowError, OSError):
        return "unknown"
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def history_entries(messages: Iterable[ThreadMessage]) -> list[str]:
    """Earlier thread messages, oldest first, each its own ``<message>`` element.

    The attributes come from the message's fields (``author`` is one of three
    words, ``ts`` is formatted here), and the text is redacted and defused like
    any fenced text, so it cannot close its element or open another.
    """
    entries = []
    for message in messages:
        body = delimit(redact(message.text).text, "message")
        if body:
            opening = f'<message author="{message.author}" ts="{_readable(message.ts)}">'
            entries.append(opening + body.removeprefix("<message>"))
    return entries


def backing_context(
    *,
    channel_context: str | None,
    guidance: str | None,
    history: Iterable[ThreadMessage] = (),
) -> list[str]:
    """The redacted texts from our side that may back a date, amount or promise in a draft.

    The customer's message is deliberately not a parameter, and customer-authored
    history is left out: "give me $5000" must never back "$5000" in a reply.
    """
    texts = []
    if channel_context and channel_context.strip():
        texts.append(_redacted_context(channel_context))
    others = [guidance, *(m.text for m in history if m.author in _OUR_SIDE and not m.relayed)]
    texts.extend(redact(t).text for t in others if t and t.strip())
    return texts

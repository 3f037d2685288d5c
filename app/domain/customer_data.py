"""Customer text, made safe to hand to a model: redacted, then fenced as data.

Customer words only ever reach the model inside a tagged block in a user
message.  ``app.domain.fencing.delimit`` defuses tag-like text inside, so a
customer who types a closing tag cannot end the block early or open another.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from app.domain.fencing import delimit
from app.domain.models import ThreadMessage
from app.domain.redact import redact


def fence(tag: str, text: str | None) -> str:
    """Redact PII and wrap ``text`` in ``<tag>…</tag>``; empty text gives ``""``."""
    return delimit(redact(text).text, tag) if text and text.strip() else ""


def _readable(ts: str | None) -> str:
    # The brief's timeline copies dates from here; Slack epoch stamps mean nothing to a model.
    if not ts:
        return ""
    try:
        moment = datetime.fromtimestamp(float(ts), tz=UTC)
    except ValueError:
        return ""
    return f" at {moment:%Y-%m-%d %H:%M} UTC"


def fence_history(messages: Iterable[ThreadMessage], *, tag: str = "thread_history") -> str:
    """Earlier thread messages, oldest first, each labelled with who wrote it and when."""
    lines = [
        f"[{message.author}{_readable(message.ts)}] {redact(message.text).text}"
        for message in messages
    ]
    return delimit("\n".join(lines), tag) if lines else ""


def backing_context(*texts: str | None, history: Iterable[ThreadMessage] = ()) -> list[str]:
    """The redacted texts that may back a date, amount or promise in a draft."""
    found = [redact(t).text for t in texts if t]
    found.extend(redact(m.text).text for m in history)
    return found

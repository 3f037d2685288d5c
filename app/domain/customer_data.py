"""Customer text, made safe to hand to a model: redacted, then fenced as data.

Customer words only ever reach the model inside a tagged block in a user
message.  A customer who types the closing tag cannot end the block early:
tag-like text inside is defused before wrapping.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from app.domain.models import ThreadMessage
from app.domain.redact import redact

_TAG_LIKE = re.compile(r"</?\s*(customer_message|thread_history|message|channel_context|thread)\b", re.I)


def fence(tag: str, text: str) -> str:
    """Redact PII and wrap ``text`` in ``<tag>…</tag>`` with inner tags defused."""
    clean = redact(text).text
    clean = _TAG_LIKE.sub(lambda m: m.group(0).replace("<", "‹"), clean)
    return f"<{tag}>\n{clean}\n</{tag}>"


def fence_optional(tag: str, text: str | None) -> str:
    return fence(tag, text) if text and text.strip() else ""


def fence_history(messages: Iterable[ThreadMessage], *, tag: str = "thread_history") -> str:
    """Earlier thread messages, oldest first, each labelled with who wrote it."""
    lines = []
    for message in messages:
        clean = redact(message.text).text
        clean = _TAG_LIKE.sub(lambda m: m.group(0).replace("<", "‹"), clean)
        when = f' ts="{message.ts}"' if message.ts else ""
        lines.append(f'<message author="{message.author}"{when}>\n{clean}\n</message>')
    if not lines:
        return ""
    return f"<{tag}>\n" + "\n".join(lines) + f"\n</{tag}>"


def backing_context(*texts: str | None, history: Iterable[ThreadMessage] = ()) -> list[str]:
    """The redacted texts that may back a date, amount or promise in a draft."""
    found = [redact(t).text for t in texts if t]
    found.extend(redact(m.text).text for m in history)
    return found

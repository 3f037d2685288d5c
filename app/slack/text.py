"""Text that goes into Slack: escaped, mention-neutralized, split to fit.

Block Kit caps a section at 3,000 characters and a message at 50 blocks;
long drafts are split on paragraph, line or word boundaries rather than
cut mid-word.
"""

from __future__ import annotations

from app.domain.approval import sendable

SECTION_LIMIT = 3000
# Headroom for the markup added around a chunk (quote markers, labels).
CHUNK = 2800


def safe(text: str) -> str:
    """Any text for mrkdwn, model-written or quoted: shown literally, exactly as a reply is sent."""
    return sendable(text)


def split_text(text: str, limit: int = CHUNK) -> list[str]:
    """Split ``text`` into pieces of at most ``limit`` characters, at the nicest boundary."""
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind("\n\n"), window.rfind("\n"))
        if cut < limit // 2:
            cut = window.rfind(" ")
        if cut < limit // 2:
            cut = limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest or not pieces:
        pieces.append(rest)
    return pieces


def quote(text: str) -> str:
    return "\n".join(f">{line}" if line else ">" for line in text.split("\n"))


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"

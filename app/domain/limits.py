"""Caps on how much customer text is read, applied before any pattern or LLM call.

A customer (or anyone who can post in a watched channel) decides how long a
message is; every pattern, prompt and token after that is paid per
character.  ``cap_text`` keeps the start of one message within
``Settings.max_message_chars`` (``TACTFUL_MAX_MESSAGE_CHARS``),
``cap_history`` keeps the newest thread messages within
``Settings.max_history_chars`` (``TACTFUL_MAX_HISTORY_CHARS``).  Both say
whether they cut, so the card can tell the agent the model saw less than
the customer wrote.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.domain.models import ThreadMessage

__all__ = ["CappedHistory", "CappedText", "cap_history", "cap_text"]

# A cut inside a word or a number can leave half an e-mail or card number that
# no longer looks like one to the redactor: the cut moves back to a space close
# to the limit, and off a number written in groups ("4111 1111 | 1111 1111").
_BOUNDARY_WINDOW = 200
_NUMBER_CHARS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ .-/()+")
_LONGEST_NUMBER = 64


@dataclass(frozen=True)
class CappedText:
    text: str
    original_chars: int

    @property
    def cut(self) -> bool:
        return len(self.text) < self.original_chars

    @property
    def cut_chars(self) -> int:
        return self.original_chars - len(self.text)


@dataclass(frozen=True)
class CappedHistory:
    messages: list[ThreadMessage]
    dropped_messages: int  # the oldest ones, left out entirely
    cut: bool  # something was dropped or shortened


def cap_text(text: str, max_chars: int) -> CappedText:
    """The start of ``text``, at most ``max_chars`` long, cut at a space when one is near."""
    if max_chars < 1:
        raise ValueError(f"max_chars must be at least 1, got {max_chars}")
    if len(text) <= max_chars:
        return CappedText(text, len(text))
    head = text[:max_chars]
    if not text[max_chars].isspace():
        near = max(0, max_chars - _BOUNDARY_WINDOW)
        space = max(head.rfind(" ", near), head.rfind("\n", near))
        if space > 0:
            head = head[:space]
    head = head.rstrip()
    rest = text[len(head) :].lstrip()
    if head and rest and head[-1].isdigit() and rest[0].isdigit():
        head = _without_trailing_number(head)
    return CappedText(head, len(text))


def _without_trailing_number(head: str) -> str:
    """``head`` without the grouped number it ends with (at most 64 characters of it)."""
    start = len(head)
    while start > 0 and len(head) - start < _LONGEST_NUMBER and head[start - 1] in _NUMBER_CHARS:
        start -= 1
    return head[:start].rstrip()


def cap_history(messages: Sequence[ThreadMessage], max_chars: int) -> CappedHistory:
    """The newest messages whose texts fit in ``max_chars``, oldest first.

    The newest message is always kept, shortened to ``max_chars`` if it
    alone is longer; older ones are dropped whole rather than cut, so the
    model never reads half a turn as if it were all of it.
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be at least 1, got {max_chars}")
    kept: list[ThreadMessage] = []
    budget = max_chars
    shortened = False
    for message in reversed(messages):
        if len(message.text) <= budget:
            kept.append(message)
            budget -= len(message.text)
            continue
        if not kept:
            capped = cap_text(message.text, max_chars)
            kept.append(message.model_copy(update={"text": capped.text}))
            shortened = True
        break
    kept.reverse()
    dropped = len(messages) - len(kept)
    return CappedHistory(kept, dropped, cut=shortened or dropped > 0)


# The note a cut message carries into the store, the prompt and the card.
_CUT_NOTE = "\n[tactful: the message was cut here; {:,} more characters were not read]"
_CUT_NOTE_TAIL = " more characters were not read]"


def with_cut_note(capped: CappedText) -> str:
    """The capped text, saying how much was left out when something was."""
    return capped.text + _CUT_NOTE.format(capped.cut_chars) if capped.cut else capped.text


def unread_chars(text: str) -> int:
    """How many characters a stored message left unread (0 when it was whole)."""
    if not text.endswith(_CUT_NOTE_TAIL):
        return 0
    start = text.rfind("; ", max(0, len(text) - 80))
    digits = text[start + 2 : len(text) - len(_CUT_NOTE_TAIL)].replace(",", "")
    return int(digits) if digits.isdigit() else 0

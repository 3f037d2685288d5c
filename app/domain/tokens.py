"""How many tokens a text costs, estimated locally, and splitting a list of texts to a budget.

No tokenizer is downloaded (tiktoken fetches its tables at run time, and the
model may be any OpenAI-compatible server with its own vocabulary), so the
count is a heuristic that errs high: English runs about four characters a
token, while CJK, emoji and other non-ASCII text runs close to one character
a token.  ``SAFETY`` covers the rest (unusual words, markup, numbers).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

CHARS_PER_TOKEN = 4
SAFETY = 1.2
# Role markers and framing each chat message costs on top of its text.
PER_MESSAGE = 4


def estimate_tokens(text: str) -> int:
    """An upper estimate of the tokens ``text`` costs; linear in its length."""
    if not text:
        return 0
    ascii_chars = sum(1 for ch in text if ord(ch) < 128)
    wide_chars = len(text) - ascii_chars
    return math.ceil((ascii_chars / CHARS_PER_TOKEN + wide_chars) * SAFETY)


def estimate_messages(contents: Sequence[str]) -> int:
    """The estimate for a chat request made of these message texts."""
    return sum(estimate_tokens(c) + PER_MESSAGE for c in contents)


def split_to_budget(costs: Sequence[int], budget: int) -> list[range]:
    """Consecutive index ranges of ``costs``, each summing to at most ``budget``.

    Order is kept and every index lands in exactly one range.  An item that
    alone exceeds the budget gets a range of its own (callers clip items so
    this does not happen; it must still never be lost).
    """
    ranges: list[range] = []
    start, total = 0, 0
    for index, cost in enumerate(costs):
        if index > start and total + cost > budget:
            ranges.append(range(start, index))
            start, total = index, 0
        total += cost
    if start < len(costs):
        ranges.append(range(start, len(costs)))
    return ranges

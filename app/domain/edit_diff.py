"""What agents change in the model's drafts: the size of an edit, and the phrases it swaps.

Both compare the model's text with the text that was sent, with difflib
(standard library).  The edit size is stored with each sent draft so the
report sums it in SQL; the phrase counts are mined from a bounded sample of
edited drafts (``tactful report`` reads the latest few hundred), because
they need the texts themselves.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

_WORD = re.compile(r"\w+(?:['’]\w+)*", re.UNICODE)
# Phrases of one to three words: long enough to be a phrase, short enough to recur.
MAX_N = 3


@dataclass(frozen=True)
class EditSize:
    """Characters changed (inserted, deleted or replaced), and 1 - similarity (0 = untouched)."""

    chars: int
    ratio: float


def edit_size(model_text: str, sent_text: str) -> EditSize:
    if model_text == sent_text:
        return EditSize(0, 0.0)
    matcher = SequenceMatcher(None, model_text, sent_text, autojunk=False)
    chars = sum(
        max(i2 - i1, j2 - j1)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    )
    return EditSize(chars, round(1.0 - matcher.ratio(), 4))


def model_text(initial: str, decisions: Iterable[tuple[str, dict[str, Any]]]) -> str:
    """The model's last text for a draft, from its audit trail (action, detail), oldest first.

    ``initial`` is the draft's text now.  A regenerate replaces the model's
    text ("after"); the first edit before any regenerate keeps it as "before".
    """
    text: str | None = None
    for action, detail in decisions:
        if action == "regenerate" and "after" in detail:
            text = str(detail["after"])
        elif action == "edit" and text is None and "before" in detail:
            text = str(detail["before"])
    return text if text is not None else initial


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def _ngrams(words: list[str]) -> set[str]:
    return {
        " ".join(words[i:i + n])
        for n in range(1, MAX_N + 1)
        for i in range(len(words) - n + 1)
    }


@dataclass(frozen=True)
class PhraseChanges:
    """Word n-grams agents removed from and added to drafts, each counted once per draft."""

    deleted: Counter[str]
    added: Counter[str]
    drafts: int


def phrase_changes(pairs: Iterable[tuple[str, str]]) -> PhraseChanges:
    """Count the phrases of each (model text, sent text) pair that one side has and not the other.

    A word-level diff finds the changed runs; a phrase counts as deleted when
    it is in a removed run and nowhere in the sent text (moving words around
    deletes nothing), and the same way round for added.
    """
    deleted: Counter[str] = Counter()
    added: Counter[str] = Counter()
    drafts = 0
    for before, after in pairs:
        old, new = _words(before), _words(after)
        drafts += 1
        removed_here: set[str] = set()
        added_here: set[str] = set()
        matcher = SequenceMatcher(None, old, new, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag in ("delete", "replace"):
                removed_here |= _ngrams(old[i1:i2])
            if tag in ("insert", "replace"):
                added_here |= _ngrams(new[j1:j2])
        old_all, new_all = _ngrams(old), _ngrams(new)
        deleted.update(p for p in removed_here if p not in new_all)
        added.update(p for p in added_here if p not in old_all)
    return PhraseChanges(deleted, added, drafts)


def top_phrases(counts: Counter[str], *, limit: int = 10, min_count: int = 2) -> list[tuple[str, int]]:
    """The most frequent phrases, longer ones first among equals; a phrase inside a more
    frequent-or-equal longer one it always came with is left out."""
    ranked = sorted(
        ((p, n) for p, n in counts.items() if n >= min_count),
        key=lambda item: (-item[1], -len(item[0].split()), item[0]),
    )
    kept: list[tuple[str, int]] = []
    for phrase, n in ranked:
        if any(f" {phrase} " in f" {longer} " and n == m for longer, m in kept):
            continue
        kept.append((phrase, n))
        if len(kept) == limit:
            break
    return kept

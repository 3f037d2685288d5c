"""Phrases found word by word: a word trie walked over the text, so the cost grows linearly.

The guardrails look for many short phrases in a reply: offer keywords in four
languages, words that promise money or gifts, promises already made in the
conversation.  Compiling each into a regular expression would run one scan
per phrase, and a manager's phrase list can be long; a trie of words reads
the text once, and from each word follows at most as many words as the
longest phrase has, whatever the text.

Words are compared folded: case, accents and what stands between words
(spaces, punctuation, apostrophes, hyphens) are ignored, so "Remboursé",
"rembourse" and "REMBOURSE" are one word and "re-shipment" is "re shipment".
A phrase word ending in ``*`` matches any word that starts with it, so
"erstatt*" finds "Erstattung" and "erstattet", and "Ersatz*" finds the German
compound "Ersatzkarte".
"""

from __future__ import annotations

import functools
import operator
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator

__all__ = [
    "ListedPhrase",
    "PhraseMatch",
    "PhraseMatcher",
    "Words",
    "fold",
    "phrase_words",
    "word_runs",
    "words_of",
]

K = TypeVar("K")

_WORDS_AND_GAPS = re.compile(r"(\W+)")
_PHRASE_WORD = re.compile(r"\w+\*?")


def fold(word: str) -> str:
    """``word`` in lower case without accents: the form phrases are compared in."""
    lowered = word.casefold()
    if lowered.isascii():
        return lowered
    decomposed = unicodedata.normalize("NFKD", lowered)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@dataclass(frozen=True, slots=True)
class Words:
    """The words of a text, folded, and where each stands: ``text[starts[i]:ends[i]]``."""

    folded: list[str]
    starts: list[int]
    ends: list[int]
    distinct: frozenset[str]  # each matcher asks its root about these once

    def __len__(self) -> int:
        return len(self.folded)


# A draft's reply is read for its dates and for its phrases, one after the other.
@functools.lru_cache(maxsize=2)
def word_runs(text: str) -> tuple[tuple[str, ...], tuple[int, ...], bool]:
    """Each run of word characters (``\\w+``) with where it starts, and whether ``text`` is ASCII.

    The runs of an ASCII text come in lower case: lower-casing it whole keeps every
    offset.  Split on the gaps, the runs and their starts come from C loops, not a
    step per word.
    """
    ascii_only = text.isascii()
    pieces = _WORDS_AND_GAPS.split(text.lower() if ascii_only else text)
    starts = list(accumulate(map(len, pieces), initial=0))[::2]
    runs = pieces[::2]  # word, gap, word...: only the first and the last may be empty
    first = 0 if runs[0] else 1
    last = len(runs) - 1 if len(runs) > first and not runs[-1] else len(runs)
    return tuple(runs[first:last]), tuple(starts[first:last]), ascii_only


def words_of(text: str) -> Words:
    """The words of ``text``, folded, with where each stands."""
    runs, starts, ascii_only = word_runs(text)
    ends = list(map(operator.add, starts, map(len, runs)))
    folded = list(runs) if ascii_only else [w.lower() if w.isascii() else fold(w) for w in runs]
    return Words(folded, list(starts), ends, frozenset(folded))


def phrase_words(phrase: str) -> tuple[str, ...]:
    """The folded words of a phrase as written in a list, a trailing ``*`` kept."""
    return tuple(fold(w) for w in _PHRASE_WORD.findall(phrase))


def _has_a_word(phrase: str) -> str:
    if not phrase_words(phrase):
        raise ValueError(f"{phrase!r} has no word to look for; use letters or digits")
    return phrase


# A phrase a manager lists for the guardrails to find (a keyword, an offer word).
ListedPhrase = Annotated[str, AfterValidator(_has_a_word)]


@dataclass(frozen=True)
class PhraseMatch(Generic[K]):
    keys: tuple[K, ...]  # every phrase that ends here with these words carries its key
    first_word: int
    last_word: int  # inclusive
    span: tuple[int, int]  # characters of the text, first word to last


@dataclass
class _Node(Generic[K]):
    children: dict[str, _Node[K]] = field(default_factory=dict)
    prefixes: dict[str, _Node[K]] = field(default_factory=dict)  # "erstatt" for "erstatt*"
    prefix_lengths: set[int] = field(default_factory=set)
    keys: list[K] = field(default_factory=list)
    # The prefixes by their first ``head`` characters (the shortest prefix's length):
    # a word that starts none, almost every word, costs one lookup however many
    # prefixes there are.  Filled by ``index`` once the trie is built.
    head: int = 0
    by_head: dict[str, list[tuple[str, _Node[K]]]] = field(default_factory=dict)
    firsts: frozenset[str] = frozenset()  # the children's words, for set operations

    def index(self) -> None:
        self.firsts = frozenset(self.children)
        if not self.prefixes:
            return
        # Matches are reported in the order the lengths were always tried in.
        rank = {length: i for i, length in enumerate(self.prefix_lengths)}
        self.head = min(self.prefix_lengths)
        self.by_head = {}
        for prefix, node in sorted(self.prefixes.items(), key=lambda item: rank[len(item[0])]):
            self.by_head.setdefault(prefix[: self.head], []).append((prefix, node))

    def next(self, word: str) -> list[_Node[K]]:
        child = self.children.get(word)
        found = [] if child is None else [child]
        if self.head and len(word) >= self.head:
            for prefix, node in self.by_head.get(word[: self.head], ()):
                if word.startswith(prefix):
                    found.append(node)
        return found

    def next_of_each(self, words: frozenset[str]) -> dict[str, list[_Node[K]]]:
        """``next`` of each of ``words`` that leads somewhere."""
        # Set operations pick the few candidates without a Python step per word.
        candidates = self.firsts.intersection(words)
        if self.head:
            head, by_head = self.head, self.by_head
            candidates = candidates.union(word for word in words if word[:head] in by_head)
        return {word: found for word in candidates if (found := self.next(word))}


class PhraseMatcher(Generic[K]):
    """Finds every listed phrase in a text, each reported with the keys it was given."""

    def __init__(self, phrases: Iterable[tuple[str, K]], *, max_words: int | None = None) -> None:
        """``phrases``: (phrase, key) pairs; a phrase with no word is ignored.

        ``max_words`` drops longer phrases, so the walk from one word stays bounded
        even when the phrases themselves come from untrusted text.
        """
        self._root: _Node[K] = _Node()
        self.depth = 0
        for phrase, key in phrases:
            words = phrase_words(phrase)
            if not words or (max_words is not None and len(words) > max_words):
                continue
            node = self._root
            for word in words:
                if word.endswith("*"):
                    node.prefix_lengths.add(len(word) - 1)
                    node = node.prefixes.setdefault(word[:-1], _Node())
                else:
                    node = node.children.setdefault(word, _Node())
            if key not in node.keys:
                node.keys.append(key)
            self.depth = max(self.depth, len(words))
        unindexed = [self._root]
        while unindexed:
            node = unindexed.pop()
            node.index()
            unindexed.extend(node.children.values())
            unindexed.extend(node.prefixes.values())

    def __bool__(self) -> bool:
        return self.depth > 0

    def find(self, text: str | Words) -> list[PhraseMatch[K]]:
        """Every occurrence of every phrase, overlapping ones included, in reading order."""
        words = words_of(text) if isinstance(text, str) else text
        found: list[PhraseMatch[K]] = []
        if not self:
            return found
        # Most words start no phrase: the root is asked once per distinct word, and
        # the walk starts only at the words that lead somewhere.
        folded = words.folded
        starts = self._root.next_of_each(words.distinct)
        if not starts:
            return found
        count = len(words)
        for first in [i for i, word in enumerate(folded) if word in starts]:
            frontier = starts[folded[first]]
            index = first
            last = min(count, first + self.depth)
            while frontier:
                if len(frontier) == 1:
                    keys = tuple(frontier[0].keys)  # a node's keys are already distinct
                else:
                    keys = tuple(dict.fromkeys(k for node in frontier for k in node.keys))
                if keys:
                    span = (words.starts[first], words.ends[index])
                    found.append(PhraseMatch(keys, first, index, span))
                index += 1
                if index >= last:
                    break
                following = folded[index]
                frontier = [nxt for node in frontier for nxt in node.next(following)]
        return found

    def contains_any(self, text: str | Words) -> set[K]:
        """The keys of every phrase found in ``text``."""
        return {key for match in self.find(text) for key in match.keys}

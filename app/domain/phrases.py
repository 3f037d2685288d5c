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

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Generic, NamedTuple, TypeVar

from pydantic import AfterValidator

__all__ = [
    "ListedPhrase",
    "PhraseMatch",
    "PhraseMatcher",
    "Word",
    "fold",
    "phrase_words",
    "words_of",
]

K = TypeVar("K")

_WORD = re.compile(r"\w+")
_PHRASE_WORD = re.compile(r"\w+\*?")


def fold(word: str) -> str:
    """``word`` in lower case without accents: the form phrases are compared in."""
    lowered = word.casefold()
    if lowered.isascii():
        return lowered
    decomposed = unicodedata.normalize("NFKD", lowered)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class Word(NamedTuple):
    folded: str
    start: int
    end: int


def words_of(text: str) -> list[Word]:
    """The words of ``text``, folded, with where each stands."""
    return [Word(fold(m.group()), m.start(), m.end()) for m in _WORD.finditer(text)]


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

    def next(self, word: str) -> list[_Node[K]]:
        found = [self.children[word]] if word in self.children else []
        # One lookup per distinct prefix length: bounded by the list, not the text.
        for length in self.prefix_lengths:
            child = self.prefixes.get(word[:length]) if length <= len(word) else None
            if child is not None:
                found.append(child)
        return found


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

    def __bool__(self) -> bool:
        return self.depth > 0

    def find(self, text: str | Sequence[Word]) -> list[PhraseMatch[K]]:
        """Every occurrence of every phrase, overlapping ones included, in reading order."""
        words = words_of(text) if isinstance(text, str) else text
        found: list[PhraseMatch[K]] = []
        if not self:
            return found
        # Most words start no phrase; what the root gives a word is remembered, so
        # a long text of the same few words costs one dictionary lookup per word.
        starts: dict[str, list[_Node[K]]] = {}
        for first in range(len(words)):
            word = words[first].folded
            frontier = starts.get(word)
            if frontier is None:
                frontier = starts[word] = self._root.next(word)
            index = first
            while frontier:
                keys = tuple(dict.fromkeys(k for node in frontier for k in node.keys))
                if keys:
                    span = (words[first].start, words[index].end)
                    found.append(PhraseMatch(keys, first, index, span))
                index += 1
                if index >= len(words) or index - first >= self.depth:
                    break
                following = words[index].folded
                frontier = [nxt for node in frontier for nxt in node.next(following)]
        return found

    def contains_any(self, text: str | Sequence[Word]) -> set[K]:
        """The keys of every phrase found in ``text``."""
        return {key for match in self.find(text) for key in match.keys}

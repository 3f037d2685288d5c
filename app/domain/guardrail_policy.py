"""What ``prompts/guardrails.yaml`` says, validated and compiled once: ``GuardrailPolicy``.

Managers list phrases to avoid, promise patterns, the words that offer money
or gifts, the phrases that only look like offers, and the hosts a reply may
link to.  ``app.playbook`` reads the file; this module owns what the keys
mean and refuses what would not work, each problem tied to its line by the
reader.

Promise patterns are regular expressions a manager writes, run over every
reply, so they must not be able to stall the bot.  They are compiled with
RE2, which matches in time linear in the text by construction, whatever the
pattern; a pattern RE2 cannot run (lookarounds, backreferences, possessive
quantifiers: the constructs that need backtracking) is refused at load
time.  RE2 reads ``\\b`` and ``\\w`` as ASCII, so a pattern should not rely on
them next to accented letters.  Each search also reads at most one
``_SEGMENT_CHARS`` stretch of the reply, so even thousands of matches in one
long line cost a bounded amount each.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Annotated, Any

import re2
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationInfo, field_validator

from app.domain.links import normalize_host
from app.domain.models import Flag
from app.domain.offers import OfferCatalog
from app.domain.phrases import ListedPhrase, PhraseMatcher, word_runs, words_of

__all__ = ["AvoidPhrase", "GuardrailPolicy", "PromiseMatch", "PromisePattern"]

_WORD = re.compile(r"\w+")
_SEGMENT_CHARS = 1_000
# Non-breaking spaces French typography puts before "?" or inside "48 heures":
# RE2's \s does not match them, so they are read as plain spaces (same length).
_SPACES = ("\u00a0", "\u202f", "\u2007")
_HOST = re.compile(r"^[a-z0-9.-]+\.[a-z0-9-]+$|^\[[0-9a-f:.]+\]$")


def _re2_options() -> Any:
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False  # the error is reported with file and line instead
    return options


PromiseMatch = tuple[int, int, str]  # start, end, text


class AvoidPhrase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    phrase: str = Field(min_length=2)
    why: str = Field(min_length=1)


class PromisePattern(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    pattern: str = Field(min_length=1, description="regular expression, RE2 syntax")
    why: str = Field(min_length=1)

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(
                f"bad regular expression {value!r}: {exc.msg} at position {exc.pos}"
            ) from exc
        try:
            re2.compile(value, _re2_options())
        except re2.error as exc:
            reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
            raise ValueError(
                f"pattern {value!r} cannot run in linear time ({reason}); lookarounds such as "
                "(?=…) or (?<!…), backreferences such as \\1 and possessive quantifiers such "
                "as ++ are not supported"
            ) from exc
        return value


class GuardrailPolicy(BaseModel):
    """What ``prompts/guardrails.yaml`` says, with its patterns compiled once."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    avoid_phrases: list[AvoidPhrase] = Field(default_factory=list)
    promise_patterns: list[PromisePattern] = Field(default_factory=list)
    min_offers: int = Field(default=2, ge=0)
    max_offers: int = Field(default=3, ge=1)
    # Groups of words that give something ("refund": [refund, refunded, remboursement…]).
    # A group in a reply must be covered by a listed offer whose label or keywords use it.
    offer_words: dict[str, Annotated[list[ListedPhrase], Field(min_length=1)]] = Field(
        default_factory=dict
    )
    # Phrases that contain an offer word but offer nothing: "credit card", "feel free".
    not_offers: list[ListedPhrase] = Field(default_factory=list)
    # Hosts a reply may link to (their subdomains too); TACTFUL_LINK_ALLOWLIST adds more.
    allowed_link_hosts: list[str] = Field(default_factory=list)

    _avoid: list[tuple[AvoidPhrase, re.Pattern[str], str | None]] = PrivateAttr(
        default_factory=list
    )
    _promises: list[Any] = PrivateAttr(default_factory=list)
    # Every promise pattern in one: one RE2 pass says whether any occurs at all.
    _any_promise: Any = PrivateAttr(default=None)
    # ... and an RE2 set, which of them do.
    _promise_set: Any = PrivateAttr(default=None)
    _offer_words: PhraseMatcher[str] = PrivateAttr()
    _not_offers: PhraseMatcher[int] = PrivateAttr()
    # The last catalog seen and what each of its offers covers: a playbook pairs one
    # policy with one catalog, so one entry is enough; holding the catalog keeps
    # its identity valid for the ``is`` check.
    _coverage: tuple[OfferCatalog, dict[str, frozenset[str]]] | None = PrivateAttr(default=None)

    @field_validator("max_offers")
    @classmethod
    def _max_not_below_min(cls, value: int, info: ValidationInfo) -> int:
        minimum = info.data.get("min_offers")
        if isinstance(minimum, int) and value < minimum:
            raise ValueError(f"max_offers ({value}) is below min_offers ({minimum})")
        return value

    @field_validator("allowed_link_hosts")
    @classmethod
    def _hosts(cls, value: list[str]) -> list[str]:
        hosts = [normalize_host(h) for h in value]
        bad = [raw for raw, host in zip(value, hosts, strict=True) if not _HOST.match(host)]
        if bad:
            raise ValueError(
                f"not a host name: {', '.join(map(repr, bad))}; write hosts such as "
                "help.example.com"
            )
        return hosts

    def model_post_init(self, context: Any, /) -> None:
        self._avoid = [(a, *_phrase_pattern(a.phrase)) for a in self.avoid_phrases]
        options = _re2_options()
        self._promises = [re2.compile(p.pattern, options) for p in self.promise_patterns]
        if self._promises:
            self._any_promise, self._promise_set = _promise_prefilters(
                [p.pattern for p in self.promise_patterns], options
            )
        self._offer_words = PhraseMatcher(
            (word, group) for group, words in self.offer_words.items() for word in words
        )
        self._not_offers = PhraseMatcher((phrase, i) for i, phrase in enumerate(self.not_offers))

    @property
    def offer_word_matcher(self) -> PhraseMatcher[str]:
        """Finds the offer word groups a text uses; the keys are the group names."""
        return self._offer_words

    @property
    def not_offer_matcher(self) -> PhraseMatcher[int]:
        return self._not_offers

    def offer_groups_in(self, text: str) -> set[str]:
        """The offer word groups ``text`` uses (for an offer's own label and keywords)."""
        return self._offer_words.contains_any(words_of(text))

    def groups_covered(self, catalog: OfferCatalog) -> dict[str, frozenset[str]]:
        """Offer id -> the offer word groups its label or keywords use."""
        coverage = self._coverage  # read once: a private attribute costs a microsecond
        if coverage is None or coverage[0] is not catalog:
            covered = {
                offer.id: frozenset(self.offer_groups_in(" . ".join(offer.vocabulary)))
                for offer in catalog.offers
            }
            coverage = self._coverage = (catalog, covered)
        return coverage[1]

    def avoid_phrase_flags(self, reply: str) -> list[Flag]:
        flags = []
        lowered = reply.lower()
        words: set[str] | None = None  # only once some anchor occurs, as a substring
        for avoid, pattern, anchor in self._avoid:
            if anchor is not None:
                if anchor not in lowered:
                    continue
                if words is None:
                    words = _lowered_words(reply, lowered)
                if anchor not in words:
                    continue
            found = pattern.search(reply)
            if found:
                flags.append(
                    Flag(
                        code="avoid_phrase",
                        message=f'Avoid "{found.group()}": {avoid.why.rstrip(".")}.',
                    )
                )
        return flags

    def promises(self, reply: str) -> list[PromiseMatch]:
        """Every promise pattern match in ``reply``, in reading order."""
        patterns = self._promises
        if not patterns:
            return []
        for space in _SPACES:
            reply = reply.replace(space, " ")
        found = [
            (start + m.start(), start + m.end(), m.group())
            for start, segment in _segments(reply)
            for index in self._promises_in(segment, len(patterns))
            for m in patterns[index].finditer(segment)
            if m.end() > m.start()
        ]
        return sorted(found)

    def _promises_in(self, segment: str, count: int) -> Sequence[int]:
        """The indices of the ``count`` promise patterns that match somewhere in ``segment``."""
        # Each call into RE2 re-encodes its text: one pass for all the patterns, and
        # most replies stop there, instead of one pass per pattern.
        any_promise = self._any_promise
        if any_promise is None:
            return range(count)
        if any_promise.search(segment) is None:
            return ()
        # A set finds nothing only when its DFA ran out of memory: then ask each one.
        return self._promise_set.Match(segment) or range(count)


def _lowered_words(text: str, lowered: str) -> set[str]:
    """The words of ``lowered``, ``text`` in lower case."""
    runs, _, ascii_only = word_runs(text)  # an ASCII text's runs are the lowered words
    return set(runs) if ascii_only else set(_WORD.findall(lowered))


def _promise_prefilters(patterns: list[str], options: Any) -> tuple[Any, Any]:
    """The union of ``patterns`` and their RE2 set, or Nones when RE2 cannot build them."""
    try:
        union = re2.compile("|".join(f"(?:{p})" for p in patterns), options)
        found = re2.Set.SearchSet(options)
        for pattern in patterns:
            found.Add(pattern)
        found.Compile()
    except re2.error:
        return None, None  # each pattern is still searched on its own
    return union, found


def _segments(text: str) -> Iterator[tuple[int, str]]:
    """``text`` in stretches of about ``_SEGMENT_CHARS``, cut after a newline, with offsets.

    A search for the next match may read to the end of what it is given;
    bounding what it is given keeps a line with thousands of matches linear,
    and grouping lines keeps thousands of empty ones from costing a call each.
    """
    start = 0
    while start < len(text):
        end = min(len(text), start + _SEGMENT_CHARS)
        if end < len(text):
            newline = text.rfind("\n", start, end)
            end = newline + 1 if newline > start else end
        yield start, text[start:end]
        start = end


def _phrase_pattern(phrase: str) -> tuple[re.Pattern[str], str | None]:
    """The phrase as a forgiving pattern, and one word any match must contain.

    Words must follow each other; anything that is not a letter may sit
    between them (spaces, commas, ’ or ').  An apostrophe may also vanish, so
    "it's" matches "its".  The anchor word lets a reply skip the regex when
    the word is absent, which is almost always.
    """
    tokens = [t for t in re.split(r"(\W+)", phrase.strip()) if t]
    parts = []
    anchors = []
    for index, token in enumerate(tokens):
        if re.fullmatch(r"\W+", token):
            parts.append(r"\W*" if re.search(r"['’`´]", token) else r"\W+")
            continue
        parts.append(re.escape(token))
        glued = any(
            0 <= j < len(tokens) and re.search(r"['’`´]", tokens[j]) for j in (index - 1, index + 1)
        )
        if not glued:
            anchors.append(token.lower())
    pattern = re.compile(r"(?<!\w)" + "".join(parts) + r"(?!\w)", re.IGNORECASE)
    return pattern, max(anchors, key=len) if anchors else None

"""What a reply's text commits us to, checked against its listed offers and trusted texts.

Each check reads the reply once and returns at most one ``Flag``:

* every money amount or percentage must be a listed offer's amount; one tied
  to an offer (same sentence) above that offer's limit is a block, one that
  only our side stated (agent, bot, channel context, catalog, guidance) is a
  warning, and any other is a block, because the customer's own words never
  back a figure;
* the offers the text makes must be listed: an offer named by its label or
  keywords (``offers.yaml``), or a word that gives something (``offer_words``
  in ``guardrails.yaml``) that no listed offer covers, is a block; a listed
  offer the text does not carry is a warning;
* dates and promises must be stated by our side (warnings);
* links must go to allowed hosts (a block).

``Backing`` holds what the trusted texts state, computed once per set of texts.
Everything is linear in the length of the reply and of the trusted texts.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from app.domain.facts import Amount, DateMention, dates_in, numbers_in
from app.domain.guardrail_policy import GuardrailPolicy
from app.domain.links import unknown_links
from app.domain.models import Flag, ProposedOffer
from app.domain.offers import OfferCatalog
from app.domain.phrases import PhraseMatcher, Words, words_of

__all__ = [
    "Backing",
    "OfferReading",
    "amount_flag",
    "backing_of",
    "date_flag",
    "link_flag",
    "offer_text_flags",
    "promise_flag",
    "read_offers",
]

# Promises longer than this many words are never found backed: it bounds the
# walk from each word of the trusted texts.
_PROMISE_WORDS = 24
_SENTENCE_END = re.compile(r"[.!?…;](?=\s)|\n")
# How far, in words, an amount may stand from an offer's name to be that offer's.
_NEAR_WORDS = 4
# Offer names longer than this (in words) are rare; one longer is still found, but
# an amount may then need to stand closer to its start to count as near.
_LONGEST_NAME = 8


class Backing:
    """What our side said (agent, bot, channel context, catalog, guidance): it backs facts."""

    def __init__(self, texts: Iterable[str]) -> None:
        self._text = "\n".join(texts)
        self.numbers = frozenset(numbers_in(self._text))
        self.date_keys = frozenset(key for m in dates_in(self._text) for key in m.keys)

    @cached_property
    def words(self) -> Words:
        # Only a reply with promises needs them.
        return words_of(self._text)


# A channel's context and its playbook's catalog are the same for every complaint
# of the channel: in a burst, what they back is read once, not once per draft.
# Sixteen sets of texts of ordinary size cover the channels of a burst and hold a
# few MB at most; a longer set is read each time rather than kept.
_KEPT_BACKINGS = 16
_KEPT_BACKING_CHARS = 20_000


@functools.lru_cache(maxsize=_KEPT_BACKINGS)
def _kept_backing(texts: tuple[str, ...]) -> Backing:
    return Backing(texts)


def backing_of(texts: Iterable[str]) -> Backing:
    """``Backing(texts)``, shared by reviews that pass the same texts."""
    texts = tuple(texts)
    if sum(map(len, texts)) > _KEPT_BACKING_CHARS:
        return Backing(texts)
    return _kept_backing(texts)


@dataclass(frozen=True)
class OfferReading:
    """The offers a reply's words make, by catalog name and by offer word."""

    named: dict[str, list[str]]  # offer id -> the phrases that name it
    groups: dict[str, list[str]]  # offer word group -> the words found
    # Where each offer is named or one of its offer words is used, in reading order:
    # (first word, last word, sentence, catalog offer ids).
    mentions: list[tuple[int, int, int, frozenset[str]]] = field(default_factory=list)
    word_starts: list[int] = field(default_factory=list)
    sentence_ends: list[int] = field(default_factory=list)

    def offers_near(self, span: tuple[int, int]) -> set[str]:
        """The offers named within ``_NEAR_WORDS`` words of ``span``, in its sentence.

        "a refund of $5000" ties the amount to refunds; "$64.99 twice; here is a
        $20 credit" does not tie $64.99 to the credit.
        """
        first = bisect.bisect_left(self.word_starts, span[0])
        last = max(first, bisect.bisect_left(self.word_starts, span[1]) - 1)
        sentence = _sentence_index(self.sentence_ends, span[0])
        # Mentions are sorted by first word and each is a few words long, so only a
        # window of them can be near: the cost does not grow with the reply.
        low = bisect.bisect_left(self.mentions, (first - _NEAR_WORDS - _LONGEST_NAME,))
        near: set[str] = set()
        for start, end, where, offers in self.mentions[low:]:
            if start - _NEAR_WORDS > last:
                break
            if where == sentence and first - _NEAR_WORDS <= end:
                near |= offers
        return near


def _sentence_index(ends: Sequence[int], position: int) -> int:
    # ``ends`` closes with one past the text, so every position has a sentence.
    return bisect.bisect_right(ends, position)


def _groups_of_offers(catalog: OfferCatalog, policy: GuardrailPolicy) -> dict[str, set[str]]:
    """Offer word group -> the catalog offers whose label or keywords use it."""
    covering: dict[str, set[str]] = {}
    for offer_id, groups in policy.groups_covered(catalog).items():
        for group in groups:
            covering.setdefault(group, set()).add(offer_id)
    return covering


def _groups_of(
    offer: ProposedOffer, covered: Mapping[str, frozenset[str]], policy: GuardrailPolicy
) -> set[str]:
    """``covered``: ``policy.groups_covered`` of the catalog."""
    if offer.offer_id in covered:  # the catalog's offers, and only those
        return set(covered[offer.offer_id])
    return policy.offer_groups_in(offer.label)  # an offer the catalog no longer has


def read_offers(text: str, catalog: OfferCatalog, policy: GuardrailPolicy) -> OfferReading:
    words = words_of(text)
    ignored = [False] * len(words)
    for phrase in policy.not_offer_matcher.find(words):
        for index in range(phrase.first_word, phrase.last_word + 1):
            ignored[index] = True
    ends = [m.end() for m in _SENTENCE_END.finditer(text)] + [len(text) + 1]
    mentions: list[tuple[int, int, int, frozenset[str]]] = []
    named: dict[str, list[str]] = {}
    named_words: set[int] = set()
    for name in catalog.name_matcher.find(words):
        if any(ignored[name.first_word : name.last_word + 1]):
            continue
        named_words.update(range(name.first_word, name.last_word + 1))
        for offer_id in name.keys:
            named.setdefault(offer_id, []).append(text[name.span[0] : name.span[1]])
        where = _sentence_index(ends, name.span[0])
        mentions.append((name.first_word, name.last_word, where, frozenset(name.keys)))
    covering = _groups_of_offers(catalog, policy)
    groups: dict[str, list[str]] = {}
    for word in policy.offer_word_matcher.find(words):
        within = range(word.first_word, word.last_word + 1)
        # An offer word inside a phrase that names an offer is that offer, not another.
        if any(ignored[i] for i in within) or all(i in named_words for i in within):
            continue
        offers: set[str] = set()
        for group in word.keys:
            groups.setdefault(group, []).append(text[word.span[0] : word.span[1]])
            offers |= covering.get(group, set())
        where = _sentence_index(ends, word.span[0])
        mentions.append((word.first_word, word.last_word, where, frozenset(offers)))
    mentions.sort(key=lambda mention: mention[:3])
    return OfferReading(named, groups, mentions, words.starts, ends)


def _carries(offer: ProposedOffer, amount: Amount) -> bool:
    if offer.amount is None or round(offer.amount, 2) != amount.value:
        return False
    if offer.unit == "percent":
        return amount.percent
    return not amount.percent and amount.in_currency(offer.currency or "")


def offer_text_flags(
    text: str,
    offers: Sequence[ProposedOffer],
    catalog: OfferCatalog,
    policy: GuardrailPolicy,
    reading: OfferReading,
    amounts: Sequence[Amount],
) -> tuple[list[Flag], bool]:
    """Offers the text makes but the card does not list (block), and the reverse (warning).

    Also says whether every listed offer is carried by the text, for the checklist.
    """
    flags = []
    listed = {o.offer_id for o in offers}
    coverage = policy.groups_covered(catalog)
    groups_of = [_groups_of(offer, coverage, policy) for offer in offers]
    covered: set[str] = set().union(*groups_of)
    unlisted = [
        f'"{phrases[0]}" ({catalog[offer_id].label})'
        for offer_id, phrases in reading.named.items()
        if offer_id not in listed
    ]
    unlisted += [f'"{found[0]}"' for group, found in reading.groups.items() if group not in covered]
    if unlisted:
        flags.append(
            Flag(
                code="unlisted_offer",
                message="The reply offers what the card does not list: "
                + ", ".join(dict.fromkeys(unlisted))
                + ". List the offer, or take it out of the text.",
            )
        )
    missing = []
    # "a store credit of 20": the number alone states the offer's amount.  Read only
    # when some amount is not written as one.
    numbers: set[float] | None = None
    for offer, own_groups in zip(offers, groups_of, strict=True):
        named = offer.offer_id in reading.named or bool(own_groups & reading.groups.keys())
        stated = offer.amount is None or any(_carries(offer, a) for a in amounts)
        if not stated and offer.amount is not None:
            numbers = numbers_in(text) if numbers is None else numbers
            stated = round(offer.amount, 2) in numbers
        if not (named and stated):
            missing.append(offer.describe())
    if missing:
        flags.append(
            Flag(
                code="offer_not_in_text",
                message="The card lists offers the reply does not carry: "
                + ", ".join(missing)
                + ". Describe them in the text, or take them off the card.",
            )
        )
    return flags, bool(offers) and not missing


def amount_flag(
    amounts: Sequence[Amount],
    offers: Sequence[ProposedOffer],
    catalog: OfferCatalog,
    reading: OfferReading,
    backing: Backing,
    removed_amounts: Iterable[float] = (),
) -> list[Flag]:
    removed = {round(a, 2) for a in removed_amounts}
    above, unbacked, restated = [], [], []
    for amount in amounts:
        if amount.value == 0 or any(_carries(o, amount) for o in offers):
            continue
        unit = "percent" if amount.percent else "amount"
        near = [catalog[i] for i in reading.offers_near(amount.span) if i in catalog]
        limits = [o for o in near if o.unit == unit and o.max is not None]
        if limits and amount.value > max(o.max or 0 for o in limits):
            best = max(limits, key=lambda o: o.max or 0)
            above.append(
                f'"{amount.text}" ({best.label}: {best.limit_text(catalog.currency).strip()})'
            )
        elif amount.value in removed or amount.value not in backing.numbers:
            unbacked.append(amount.text)
        else:
            restated.append(amount.text)
    flags = []
    if above:
        flags.append(
            Flag(
                code="amount_above_authority",
                message="Beyond what an agent may grant alone: "
                + ", ".join(dict.fromkeys(above))
                + ". That needs a manager; take it out of the text.",
            )
        )
    if unbacked:
        flags.append(
            Flag(
                code="unbacked_amount",
                message="Amounts that no listed offer carries and nobody on our side stated: "
                + _quoted(unbacked)
                + ". Take them out, or list the offer that carries them.",
            )
        )
    if restated:
        flags.append(
            Flag(
                code="amount_not_offered",
                message="Amounts our side stated but no listed offer carries: "
                + _quoted(restated)
                + ". Make sure the reply does not read as offering them.",
            )
        )
    return flags


def date_flag(reply_dates: Sequence[DateMention], backing: Backing) -> Flag | None:
    unbacked = [d.text for d in reply_dates if not backing.date_keys.intersection(d.keys)]
    if not unbacked:
        return None
    return Flag(
        code="unbacked_date",
        message="Dates or deadlines nobody on our side gave: "
        + _quoted(unbacked)
        + ". Confirm them with the team or take them out.",
    )


def promise_flag(
    reply: str, reply_dates: Sequence[DateMention], policy: GuardrailPolicy, backing: Backing
) -> Flag | None:
    # A deadline ("within 48 hours") is judged once, as a date.  Both lists are in
    # reading order and dates do not overlap each other, so one sweep finds the
    # promises that overlap no date.
    spans = [d.span for d in reply_dates]
    promises = []
    index = 0
    for start, end, text in policy.promises(reply):
        while index < len(spans) and spans[index][1] <= start:
            index += 1
        if index < len(spans) and spans[index][0] < end:
            continue
        promises.append(text)
    if promises:
        unique = list(dict.fromkeys(promises))
        matcher = PhraseMatcher(((p, p) for p in unique), max_words=_PROMISE_WORDS)
        stated = matcher.contains_any(backing.words)
        promises = [p for p in unique if p not in stated]
    if not promises:
        return None
    return Flag(
        code="unbacked_promise",
        message="Promises nobody has confirmed: "
        + _quoted(promises)
        + ". Promise only what the team can keep.",
    )


def link_flag(reply: str, allowlist: Iterable[str]) -> Flag | None:
    links = unknown_links(reply, allowlist)
    if not links:
        return None
    hosts = list(dict.fromkeys(link.host for link in links))
    return Flag(
        code="unknown_link",
        message="Links to sites that are not on the allow-list: "
        + _quoted(hosts)
        + ". Take them out, or have an admin add the host to TACTFUL_LINK_ALLOWLIST "
        "or allowed_link_hosts in guardrails.yaml.",
    )


def _quoted(items: Iterable[str]) -> str:
    return ", ".join(f'"{item}"' for item in dict.fromkeys(items))

"""Deterministic checks on a model's draft: guardrails decide what an agent sees, not the model.

``apply_guardrails`` takes a ``DraftOutput`` and returns a ``GuardedDraft``:
offers outside the catalog or beyond the agent's authority are removed,
duplicates dropped, Slack mentions made inert, and every doubt becomes a
``Flag`` for the reviewer: phrases to avoid, amounts, dates and promises the
conversation does not back, steps of the method the reply does not cover.
The phrase and promise lists come from ``prompts/guardrails.yaml``
(``GuardrailPolicy``, read by ``app.playbook``).  Nothing here calls the LLM, and every pattern is
compiled once, because this runs on every draft.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationInfo, field_validator

from app.domain.facts import DateMention, amounts_in, dates_in, numbers_in
from app.domain.mentions import neutralize_mentions
from app.domain.models import STEP_LABELS, DraftOutput, Flag, OfferProposal, ProposedOffer, Step
from app.domain.offers import Offer, OfferCatalog

__all__ = ["AvoidPhrase", "GuardedDraft", "GuardrailPolicy", "PromisePattern", "apply_guardrails"]

_WORD = re.compile(r"\w+")


class AvoidPhrase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    phrase: str = Field(min_length=2)
    why: str = Field(min_length=1)


class PromisePattern(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    pattern: str = Field(min_length=1, description="Python regular expression")
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
        return value


class GuardrailPolicy(BaseModel):
    """What ``prompts/guardrails.yaml`` says, with its patterns compiled once."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    avoid_phrases: list[AvoidPhrase] = Field(default_factory=list)
    promise_patterns: list[PromisePattern] = Field(default_factory=list)
    min_offers: int = Field(default=2, ge=0)
    max_offers: int = Field(default=3, ge=1)
    _avoid: list[tuple[AvoidPhrase, re.Pattern[str], str | None]] = PrivateAttr(
        default_factory=list
    )
    _promises: list[tuple[PromisePattern, re.Pattern[str]]] = PrivateAttr(default_factory=list)

    @field_validator("max_offers")
    @classmethod
    def _max_not_below_min(cls, value: int, info: ValidationInfo) -> int:
        minimum = info.data.get("min_offers")
        if isinstance(minimum, int) and value < minimum:
            raise ValueError(f"max_offers ({value}) is below min_offers ({minimum})")
        return value

    def model_post_init(self, context: Any, /) -> None:
        self._avoid = [(a, *_phrase_pattern(a.phrase)) for a in self.avoid_phrases]
        self._promises = [(p, re.compile(p.pattern, re.IGNORECASE)) for p in self.promise_patterns]

    def avoid_phrase_flags(self, reply: str) -> list[Flag]:
        flags = []
        words = set(_WORD.findall(reply.lower()))
        for avoid, pattern, anchor in self._avoid:
            if anchor is not None and anchor not in words:
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

    def promises(self, reply: str) -> list[re.Match[str]]:
        """Every promise pattern match in ``reply``, in reading order."""
        found = [m for _, pattern in self._promises for m in pattern.finditer(reply)]
        return sorted(found, key=lambda m: m.start())


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


@dataclass(frozen=True)
class GuardedDraft:
    text: str  # the reply, mentions neutralized
    offers: list[ProposedOffer]  # only catalog offers within authority, deduped, at most max_offers
    checklist: dict[Step, bool]  # step -> covered
    flags: list[Flag]


def apply_guardrails(
    output: DraftOutput,
    *,
    catalog: OfferCatalog,
    policy: GuardrailPolicy,
    context: Sequence[str],
) -> GuardedDraft:
    """Check a model's draft against the catalog, the policy and the facts in ``context``.

    ``context`` holds the texts that back facts: the customer's message, the
    channel context, the thread history and the agent's guidance.
    """
    flags: list[Flag] = []
    kept, removed = _screen_offers(output.offers, catalog, policy, flags)
    text, mention_count = neutralize_mentions(output.reply)
    offers = []
    for offer, proposal in kept:
        why, why_mentions = neutralize_mentions(proposal.why_it_helps.strip() or offer.why)
        mention_count += why_mentions
        offers.append(
            ProposedOffer(
                offer_id=offer.id,
                label=offer.label,
                why_it_helps=why,
                amount=proposal.amount if offer.unit != "none" else None,
                unit=None if offer.unit == "none" else offer.unit,
                currency=catalog.currency if offer.unit == "amount" else None,
            )
        )

    flags.extend(policy.avoid_phrase_flags(output.reply))
    backing = "\n".join(context)
    reply_dates = dates_in(output.reply)
    for flag in (
        _amount_flag(output.reply, offers, removed, backing),
        _date_flag(reply_dates, backing),
        _promise_flag(output.reply, reply_dates, policy, backing),
    ):
        if flag is not None:
            flags.append(flag)
    if mention_count:
        flags.append(
            Flag(
                code="mention_neutralized",
                message=f"Made {mention_count} Slack mention(s) inert so nobody gets notified.",
                severity="info",
            )
        )
    checklist = _checklist(output, covered_offer=bool(offers))
    missing = [STEP_LABELS[step] for step, covered in checklist.items() if not covered]
    if missing:
        flags.append(
            Flag(
                code="step_missing",
                message="The reply does not visibly cover: " + ", ".join(missing) + ".",
                severity="info",
            )
        )
    return GuardedDraft(text=text, offers=offers, checklist=checklist, flags=flags)


def _screen_offers(
    proposals: list[OfferProposal],
    catalog: OfferCatalog,
    policy: GuardrailPolicy,
    flags: list[Flag],
) -> tuple[list[tuple[Offer, OfferProposal]], list[OfferProposal]]:
    """Split proposals into (catalog offer, proposal) pairs to keep and proposals removed."""
    kept: list[tuple[Offer, OfferProposal]] = []
    removed: list[OfferProposal] = []
    for proposal in proposals:
        offer = catalog.get(proposal.offer_id)
        if offer is None:
            removed.append(proposal)
            flags.append(
                Flag(
                    code="offer_not_in_catalog",
                    message=f'Removed "{proposal.offer_id}": it is not in the offer catalog.',
                )
            )
            continue
        problem = offer.authority_problem(proposal.amount, catalog.currency)
        if problem:
            removed.append(proposal)
            flags.append(
                Flag(
                    code="offer_above_authority",
                    message=f'Removed "{offer.label}": {problem}; that needs a manager.',
                )
            )
            continue
        if any(k.id == offer.id for k, _ in kept):
            flags.append(
                Flag(
                    code="offer_duplicate",
                    message=f'"{offer.label}" was proposed twice; kept the first.',
                    severity="info",
                )
            )
            continue
        kept.append((offer, proposal))
    # Beyond the maximum, the extra offers are treated as removed, so their
    # amounts cannot stay sold in the reply.
    removed.extend(proposal for _, proposal in kept[policy.max_offers :])
    kept = kept[: policy.max_offers]
    if len(kept) < policy.min_offers:
        flags.append(
            Flag(
                code="too_few_offers",
                message=(
                    f"{len(kept) or 'No'} offer(s) left after the checks, fewer than the "
                    f"{policy.min_offers} the method asks for; consider one from the catalog."
                ),
                severity="info",
            )
        )
    return kept, removed


def _amount_flag(
    reply: str, offers: list[ProposedOffer], removed: list[OfferProposal], context: str
) -> Flag | None:
    backed_numbers = numbers_in(context)
    kept_amounts = {(o.unit == "percent", round(o.amount, 2)) for o in offers if o.amount}
    # An amount only a removed offer carried stays flagged even when the
    # customer typed it: "give me $5000" must not back "$5000" in the reply.
    removed_amounts = {round(p.amount, 2) for p in removed if p.amount}
    unbacked = [
        amount.text
        for amount in amounts_in(reply)
        if (amount.percent, amount.value) not in kept_amounts
        and amount.value != 0
        and (amount.value in removed_amounts or amount.value not in backed_numbers)
    ]
    if not unbacked:
        return None
    return Flag(
        code="unbacked_amount",
        message="Amounts that neither a kept offer nor the conversation backs: "
        + _quoted(unbacked)
        + ". Check them before sending.",
    )


def _date_flag(reply_dates: list[DateMention], context: str) -> Flag | None:
    backed = {key for mention in dates_in(context) for key in mention.keys}
    unbacked = [d.text for d in reply_dates if not backed.intersection(d.keys)]
    if not unbacked:
        return None
    return Flag(
        code="unbacked_date",
        message="Dates or deadlines the conversation does not back: "
        + _quoted(unbacked)
        + ". Confirm them with the team or take them out.",
    )


def _promise_flag(
    reply: str, reply_dates: list[DateMention], policy: GuardrailPolicy, context: str
) -> Flag | None:
    # A deadline ("within 48 hours") is judged once, as a date: flagged there
    # when unbacked, and no promise to flag when the conversation gave it.
    date_spans = [d.span for d in reply_dates]
    promises = [
        m.group()
        for m in policy.promises(reply)
        if not any(m.start() < end and start < m.end() for start, end in date_spans)
    ]
    if promises:
        plain_context = _plain(context)
        promises = [p for p in promises if _plain(p) not in plain_context]
    if not promises:
        return None
    return Flag(
        code="unbacked_promise",
        message="Promises nobody has confirmed: "
        + _quoted(promises)
        + ". Promise only what the team can keep.",
    )


def _quoted(items: list[str]) -> str:
    unique = list(dict.fromkeys(items))
    return ", ".join(f'"{item}"' for item in unique)


_QUOTES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'", "“": '"', "”": '"', "\u2060": ""})
_SPACES = re.compile(r"\s+")
_QUOTE_EDGES = "\"'«»„“”‘’ .!?…,;:"


def _plain(text: str) -> str:
    """Case, quotes and whitespace folded, so a quote can be found in the reply."""
    return _SPACES.sub(" ", text.translate(_QUOTES).casefold()).strip()


def _checklist(output: DraftOutput, *, covered_offer: bool) -> dict[Step, bool]:
    reply = _plain(output.reply)
    covered = {step: False for step in Step}
    for evidence in output.steps:
        quote = _plain(evidence.quote).strip(_QUOTE_EDGES)
        if quote and quote in reply:
            covered[evidence.step] = True
    covered[Step.OFFER] = covered[Step.OFFER] and covered_offer
    return covered

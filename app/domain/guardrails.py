"""Deterministic checks on a reply: guardrails, not the model, decide what an agent may send.

Two entry points, neither calls the LLM:

``apply_guardrails`` takes a model's ``DraftOutput`` and returns a
``GuardedDraft``: offers outside the catalog or beyond the agent's authority
are removed, duplicates dropped, Slack mentions made inert, and the text is
reviewed.

``review_text`` reviews a text with the offers it is meant to carry; it is
what runs again on every agent edit and offer change (through
``DraftingPipeline.recheck``).  Its checklist can only compute the offer step
(offers listed and carried by the text); the other steps come from the
previous draft's checklist, because only the model's quotes said which
sentence covered them.

Reviewing a text (``app.domain.reply_checks``) flags phrases to avoid,
amounts no listed offer carries, offers the text makes that the card does not
list, dates and promises our side never stated, and links outside the
allow-list.  Only trusted texts back a fact: the channel context, the agent's
guidance, agent and bot messages of the thread, and the catalog; never the
customer's own words.  Flags carry a severity (``app.domain.models.FLAG_SEVERITY``);
a *block* disables Approve.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from app.domain.facts import amounts_in, dates_in
from app.domain.guardrail_policy import AvoidPhrase, GuardrailPolicy, PromisePattern
from app.domain.mentions import neutralize_mentions
from app.domain.models import STEP_LABELS, DraftOutput, Flag, OfferProposal, ProposedOffer, Step
from app.domain.offers import Offer, OfferCatalog
from app.domain.reply_checks import (
    amount_flag,
    backing_of,
    date_flag,
    link_flag,
    offer_text_flags,
    promise_flag,
    read_offers,
)

__all__ = [
    "AvoidPhrase",
    "GuardedDraft",
    "GuardrailPolicy",
    "PromisePattern",
    "ReviewedText",
    "apply_guardrails",
    "review_text",
]


@dataclass(frozen=True)
class GuardedDraft:
    text: str  # the reply, mentions neutralized
    offers: list[ProposedOffer]  # only catalog offers within authority, deduped, at most max_offers
    checklist: dict[Step, bool]  # step -> covered
    flags: list[Flag]


class ReviewedText(NamedTuple):
    """Flags and checklist for a text an agent edited or whose offers changed."""

    flags: list[Flag]
    checklist: dict[Step, bool]

    @property
    def blocked(self) -> bool:
        return any(flag.blocks for flag in self.flags)


def apply_guardrails(
    output: DraftOutput,
    *,
    catalog: OfferCatalog,
    policy: GuardrailPolicy,
    context: Sequence[str],
    allowlist: Iterable[str] = (),
) -> GuardedDraft:
    """Check a model's draft against the catalog, the policy and the trusted ``context``.

    ``context``: texts from our side only (``customer_data.backing_context``);
    ``allowlist``: hosts the reply may link to.
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
    text_flags, offers_carried = _review(
        text,
        offers,
        catalog=catalog,
        policy=policy,
        context=context,
        allowlist=allowlist,
        removed_amounts=[p.amount for p in removed if p.amount],
    )
    flags.extend(text_flags)
    if mention_count:
        flags.append(
            Flag(
                code="mention_neutralized",
                message=f"Made {mention_count} Slack mention(s) inert so nobody gets notified.",
            )
        )
    checklist = _quoted_steps(output, text)
    checklist[Step.OFFER] = checklist[Step.OFFER] and offers_carried
    flags.extend(_missing_steps(checklist))
    return GuardedDraft(text=text, offers=offers, checklist=checklist, flags=flags)


def review_text(
    text: str,
    offers: Sequence[ProposedOffer],
    *,
    catalog: OfferCatalog,
    policy: GuardrailPolicy,
    context: Sequence[str],
    allowlist: Iterable[str] = (),
    previous_checklist: Mapping[Step, bool] | None = None,
) -> ReviewedText:
    """Review ``text`` as it would be sent with ``offers``: the check after every edit.

    Unlike a model's draft, nothing is removed: an offer no longer in the
    catalog or beyond authority is the agent's choice, so it blocks instead.
    """
    flags = _check_listed_offers(offers, catalog)
    text_flags, offers_carried = _review(
        text, offers, catalog=catalog, policy=policy, context=context, allowlist=allowlist
    )
    flags.extend(text_flags)
    checklist = {step: bool((previous_checklist or {}).get(step, False)) for step in Step}
    checklist[Step.OFFER] = offers_carried
    flags.extend(_missing_steps(checklist))
    return ReviewedText(flags, checklist)


def _review(
    text: str,
    offers: Sequence[ProposedOffer],
    *,
    catalog: OfferCatalog,
    policy: GuardrailPolicy,
    context: Sequence[str],
    allowlist: Iterable[str],
    removed_amounts: Iterable[float] = (),
) -> tuple[list[Flag], bool]:
    """Every flag the text itself raises, and whether it carries every listed offer."""
    backing = backing_of([*context, *catalog.texts])
    amounts = amounts_in(text)
    reading = read_offers(text, catalog, policy)
    reply_dates = dates_in(text)
    flags = policy.avoid_phrase_flags(text)
    flags.extend(amount_flag(amounts, offers, catalog, reading, backing, removed_amounts))
    offer_flags, carried = offer_text_flags(text, offers, catalog, policy, reading, amounts)
    flags.extend(offer_flags)
    for flag in (
        date_flag(reply_dates, backing),
        promise_flag(text, reply_dates, policy, backing),
        link_flag(text, allowlist),
    ):
        if flag is not None:
            flags.append(flag)
    return flags, carried


def _check_listed_offers(offers: Sequence[ProposedOffer], catalog: OfferCatalog) -> list[Flag]:
    flags = []
    for proposed in offers:
        offer = catalog.get(proposed.offer_id)
        if offer is None:
            flags.append(
                Flag(
                    code="offer_not_in_catalog",
                    message=f'"{proposed.label}" is no longer in the offer catalog.',
                    severity="block",
                )
            )
            continue
        problem = offer.authority_problem(proposed.amount, catalog.currency)
        if problem:
            flags.append(
                Flag(
                    code="offer_above_authority",
                    message=f'"{offer.label}": {problem}; that needs a manager.',
                    severity="block",
                )
            )
    return flags


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
            )
        )
    return kept, removed


_QUOTES = (("’", "'"), ("‘", "'"), ("`", "'"), ("´", "'"), ("“", '"'), ("”", '"'), ("\u2060", ""))
_QUOTE_EDGES = "\"'«»„“”‘’ .!?…,;:"


def _plain(text: str) -> str:
    """Case, quotes and whitespace folded, so a quote can be found in the reply."""
    # One ``replace`` a character is a C scan each; ``str.translate`` with a table
    # took a dictionary lookup per character.  No replacement is itself replaced.
    for quote, plain in _QUOTES:
        text = text.replace(quote, plain)
    return " ".join(text.casefold().split())


def _quoted_steps(output: DraftOutput, text: str) -> dict[Step, bool]:
    """Steps whose quote, as the model gave it, is really in the reply."""
    reply = _plain(text)
    covered = {step: False for step in Step}
    for evidence in output.steps:
        quote = _plain(evidence.quote).strip(_QUOTE_EDGES)
        if quote and quote in reply:
            covered[evidence.step] = True
    return covered


def _missing_steps(checklist: Mapping[Step, bool]) -> list[Flag]:
    missing = [STEP_LABELS[step] for step, covered in checklist.items() if not covered]
    if not missing:
        return []
    return [
        Flag(
            code="step_missing",
            message="The reply does not visibly cover: " + ", ".join(missing) + ".",
        )
    ]

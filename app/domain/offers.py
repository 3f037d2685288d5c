"""The offer catalog a manager edits (``prompts/offers.yaml``) and each agent's authority.

An ``Offer`` is something an agent may propose on their own, up to ``max`` in
its ``unit``; anything above needs a manager.  The drafting prompt sees the
catalog through ``OfferCatalog.for_prompt``; the guardrails check every offer
the model proposes against it, so the catalog, not the model, decides.  They
also look for each offer's label and ``keywords`` in the reply
(``OfferCatalog.name_matcher``), so a text cannot make an offer the card does
not list.  Reading the file, with its line numbers, is ``app.playbook``'s job.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from app.domain.phrases import ListedPhrase, PhraseMatcher, phrase_words

__all__ = ["Offer", "OfferCatalog", "OfferUnit"]

OfferUnit = Literal["amount", "percent", "none"]


class Offer(BaseModel):
    """One thing an agent may offer, and how far they may go without a manager."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="snake_case, unique")
    label: str = Field(min_length=1)
    fits: str = Field(min_length=1, description="when this offer is the right one")
    why: str = Field(min_length=1, description="default reason it helps the customer")
    unit: OfferUnit
    max: float | None = Field(default=None, ge=0, description="authority limit; 0 = manager only")
    escalate_above: str | None = None
    # Words a reply uses when it makes this offer, in every language we answer in.
    # Each should name this offer and no other: the guardrails block a reply that
    # uses them while the offer is not listed on the card.
    keywords: list[ListedPhrase] = Field(default_factory=list)

    @property
    def vocabulary(self) -> list[str]:
        """The label and keywords: the phrases that name this offer in a reply."""
        return [self.label, *self.keywords]

    @model_validator(mode="after")
    def _limit_matches_unit(self) -> Offer:
        if self.unit == "none" and self.max is not None:
            raise ValueError(
                f"offer '{self.id}' has unit 'none' but a max; remove max or set unit to "
                "amount or percent"
            )
        if self.unit != "none" and self.max is None:
            raise ValueError(f"offer '{self.id}' has unit '{self.unit}' and needs a max")
        if self.unit == "percent" and self.max is not None and self.max > 100:
            raise ValueError(f"offer '{self.id}': a percent max cannot exceed 100")
        return self

    def limit_text(self, currency: str) -> str:
        if self.max is None:
            return "no amount"
        if self.max == 0:
            return "only with a manager's approval"
        if self.unit == "percent":
            return f"up to {self.max:g}%"
        return f"up to {self.max:g} {currency}"

    def authority_problem(self, amount: float | None, currency: str = "") -> str | None:
        """Why ``amount`` is beyond what an agent may grant alone, or None when it is fine."""
        if amount is None or (self.unit == "none" and amount == 0):
            return "only a manager can grant it" if self.max == 0 else None
        if not math.isfinite(amount) or amount < 0:
            return f"the amount {amount:g} is not a valid amount"
        if self.unit == "none":
            return f"it carries no amount, yet {amount:g} was attached"
        if self.max is not None and amount > self.max:
            shown = f"{amount:g}%" if self.unit == "percent" else f"{amount:g}"
            return f"{shown} is above the agent limit ({self.limit_text(currency).strip()})"
        return None


class OfferCatalog(BaseModel):
    """Every offer an agent may make, in one currency."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. USD")
    offers: list[Offer] = Field(min_length=1)
    _by_id: dict[str, Offer] = PrivateAttr(default_factory=dict)
    _names: PhraseMatcher[str] = PrivateAttr()
    _texts: tuple[str, ...] = PrivateAttr(default=())

    @model_validator(mode="after")
    def _ids_are_unique(self) -> OfferCatalog:
        seen: set[str] = set()
        for offer in self.offers:
            if offer.id in seen:
                raise ValueError(f"duplicate offer id '{offer.id}'")
            seen.add(offer.id)
        return self

    @model_validator(mode="after")
    def _keywords_name_one_offer(self) -> OfferCatalog:
        owner: dict[tuple[str, ...], str] = {}
        for offer in self.offers:
            for keyword in offer.keywords:
                words = phrase_words(keyword)
                first = owner.setdefault(words, offer.id)
                if first != offer.id:
                    raise ValueError(
                        f"keyword {keyword!r} names both '{first}' and '{offer.id}'; keep it "
                        "on one offer, or list a word several offers share under offer_words "
                        "in guardrails.yaml"
                    )
        return self

    def model_post_init(self, context: Any, /) -> None:
        self._by_id = {offer.id: offer for offer in self.offers}
        self._names = PhraseMatcher(
            (phrase, offer.id) for offer in self.offers for phrase in offer.vocabulary
        )
        self._texts = tuple(
            " ".join(filter(None, (o.label, o.fits, o.why, o.escalate_above))) for o in self.offers
        )

    @property
    def name_matcher(self) -> PhraseMatcher[str]:
        """Finds the offers a text names by label or keyword; the keys are offer ids."""
        return self._names

    @property
    def texts(self) -> tuple[str, ...]:
        """The catalog's own words, one text per offer: they back what a reply says of it."""
        return self._texts

    def get(self, offer_id: str) -> Offer | None:
        return self._by_id.get(offer_id)

    def __getitem__(self, offer_id: str) -> Offer:
        return self._by_id[offer_id]

    def __contains__(self, offer_id: object) -> bool:
        return offer_id in self._by_id

    def for_prompt(self) -> list[dict[str, str]]:
        """The catalog as the drafting prompt shows it: id, label, fits, limit."""
        return [
            {"id": o.id, "label": o.label, "fits": o.fits, "limit": o.limit_text(self.currency)}
            for o in self.offers
        ]

"""Stories of the offer catalog: what agents may grant alone, and what needs a manager."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from app.domain.offers import Offer, OfferCatalog
from app.playbook import load_offer_catalog

REPO = Path(__file__).resolve().parents[2]
REAL_CATALOG = REPO / "prompts" / "offers.yaml"

@pytest.fixture(scope="module")
def catalog() -> OfferCatalog:
    return load_offer_catalog(REAL_CATALOG)


def test_the_shipped_catalog_loads_with_the_offers_the_method_needs(catalog: OfferCatalog) -> None:
    ids = [offer.id for offer in catalog.offers]

    assert catalog.currency == "USD"
    assert 8 <= len(ids) <= 12
    assert len(set(ids)) == len(ids)
    for needed in ("replacement", "express_reship", "store_credit", "partial_refund",
                   "full_refund", "redo_service", "free_upgrade", "callback",
                   "competitor_purchase"):  # fmt: skip
        assert needed in catalog, needed


def test_the_drafting_prompt_sees_each_offer_with_a_human_limit(catalog: OfferCatalog) -> None:
    shown = {row["id"]: row for row in catalog.for_prompt()}

    assert all(set(row) == {"id", "label", "fits", "limit"} for row in shown.values())
    assert shown["express_reship"]["limit"] == "up to 40 USD"
    assert shown["partial_refund"]["limit"] == "up to 30%"
    assert shown["callback"]["limit"] == "no amount"
    assert shown["store_credit"]["label"] == "Account credit"


def test_an_agent_may_grant_up_to_the_limit_and_no_further(catalog: OfferCatalog) -> None:
    credit = catalog["store_credit"]
    refund = catalog["partial_refund"]
    callback = catalog["callback"]

    assert credit.authority_problem(50, "USD") is None
    assert credit.authority_problem(None, "USD") is None
    assert credit.authority_problem(50.01, "USD") == "50.01 is above the agent limit (up to 50 USD)"
    assert refund.authority_problem(45) == "45% is above the agent limit (up to 30%)"
    assert credit.authority_problem(-5) == "the amount -5 is not a valid amount"
    assert credit.authority_problem(float("nan")) is not None
    assert callback.authority_problem(None) is None
    assert callback.authority_problem(0) is None
    assert callback.authority_problem(20) == "it carries no amount, yet 20 was attached"


def test_an_offer_with_max_zero_is_for_managers_only() -> None:
    offer = Offer(id="gift_card", label="Gift card", fits="x", why="y", unit="amount", max=0)

    assert offer.limit_text("USD") == "only with a manager's approval"
    assert offer.authority_problem(None) == "only a manager can grant it"
    assert offer.authority_problem(10) is not None


def test_lookups_by_id(catalog: OfferCatalog) -> None:
    assert catalog.get("callback") is catalog["callback"]
    assert catalog.get("cash_bonus") is None
    assert "cash_bonus" not in catalog
    with pytest.raises(KeyError):
        catalog["cash_bonus"]


def test_code_cannot_build_a_catalog_with_two_offers_of_the_same_id() -> None:
    offer = Offer(id="callback", label="Call", fits="x", why="y", unit="none")

    with pytest.raises(ValidationError, match="duplicate offer id 'callback'"):
        OfferCatalog(currency="USD", offers=[offer, offer])

"""Stories of the offer catalog: what agents may grant, and a manager's typo reported by line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.domain.offers import Offer, OfferCatalog
from app.prompting.errors import PromptError

REPO = Path(__file__).resolve().parents[2]
REAL_CATALOG = REPO / "prompts" / "offers.yaml"

GOOD_CATALOG = """\
currency: EUR
offers:
  - id: store_credit
    label: Account credit
    fits: Any real inconvenience
    why: Usable right away
    unit: amount
    max: 50
  - id: callback
    label: Call-back
    fits: Long cases
    why: One person owns it
    unit: none
"""


@pytest.fixture(scope="module")
def catalog() -> OfferCatalog:
    return OfferCatalog.load(REAL_CATALOG)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "offers.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


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


def test_the_triage_prompt_gets_the_authority_on_one_line(catalog: OfferCatalog) -> None:
    summary = catalog.authority_summary()

    assert "\n" not in summary
    assert "store_credit up to 50 USD" in summary
    assert "partial_refund up to 30%" in summary
    assert "needs a manager" in summary


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


def test_a_small_valid_catalog_in_another_currency(tmp_path: Path) -> None:
    catalog = OfferCatalog.load(write(tmp_path, GOOD_CATALOG))

    assert catalog.for_prompt()[0]["limit"] == "up to 50 EUR"


@pytest.mark.parametrize(
    ("yaml_text", "line", "says"),
    [
        pytest.param(
            GOOD_CATALOG.replace("    max: 50\n", "    max: 50\n   maximum: [1,\n"),
            9,
            "YAML error",
            id="yaml-syntax",
        ),
        pytest.param(
            GOOD_CATALOG.replace("    max: 50\n", "    maximum: 50\n"),
            8,
            "offers[0].maximum: unknown key 'maximum' (allowed: id, label, fits, why, unit, max,"
            " escalate_above)",
            id="unknown-key",
        ),
        pytest.param(
            GOOD_CATALOG.replace("max: 50", "max: -5"),
            8,
            "offers[0].max: Input should be greater than or equal to 0",
            id="negative-max",
        ),
        pytest.param(
            GOOD_CATALOG.replace("id: callback", "id: store_credit"),
            9,
            "duplicate offer id 'store_credit' (first defined on line 3)",
            id="duplicate-id",
        ),
        pytest.param(
            GOOD_CATALOG.replace("    unit: none\n", "    unit: none\n    max: 10\n"),
            9,
            "offer 'callback' has unit 'none' but a max",
            id="none-unit-with-max",
        ),
        pytest.param(
            GOOD_CATALOG.replace("    why: One person owns it\n", ""),
            9,
            "offers[1].why: missing required key 'why'",
            id="missing-why",
        ),
        pytest.param(
            GOOD_CATALOG.replace("unit: amount", "unit: dollars"),
            7,
            "offers[0].unit: Input should be 'amount', 'percent' or 'none' (got 'dollars')",
            id="bad-unit",
        ),
        pytest.param(
            GOOD_CATALOG.replace("    max: 50\n", "    max: 50\n    max: 60\n"),
            9,
            "duplicate key 'max'",
            id="duplicate-yaml-key",
        ),
        pytest.param(
            GOOD_CATALOG.replace("currency: EUR", "currency: euros"),
            1,
            "currency: String should match pattern",
            id="bad-currency",
        ),
        pytest.param(
            GOOD_CATALOG.replace("id: callback", "id: Call Back"),
            9,
            "offers[1].id: String should match pattern '^[a-z][a-z0-9_]*$' (got 'Call Back')",
            id="id-not-snake-case",
        ),
        pytest.param("- just\n- a list\n", 1, "expected a mapping", id="not-a-mapping"),
    ],
)
def test_a_broken_catalog_names_the_file_and_line(
    tmp_path: Path, yaml_text: str, line: int, says: str
) -> None:
    path = write(tmp_path, yaml_text)

    with pytest.raises(PromptError) as caught:
        OfferCatalog.load(path)

    assert caught.value.path == path
    assert caught.value.line == line, str(caught.value)
    assert says in caught.value.message
    assert str(caught.value).startswith(f"{path}:{line}: ")


def test_several_problems_report_the_first_and_count_the_rest(tmp_path: Path) -> None:
    broken = GOOD_CATALOG.replace("max: 50", "max: -1").replace("unit: none", "unit: nothing")

    with pytest.raises(PromptError) as caught:
        OfferCatalog.load(write(tmp_path, broken))

    assert caught.value.line == 8
    assert caught.value.message.endswith("(and 1 more problem(s))")


def test_a_missing_catalog_file_is_reported_without_a_line(tmp_path: Path) -> None:
    with pytest.raises(PromptError) as caught:
        OfferCatalog.load(tmp_path / "nope.yaml")

    assert caught.value.line is None
    assert "cannot read the file" in caught.value.message


def test_a_catalog_saved_in_another_encoding_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "offers.yaml"
    path.write_bytes(GOOD_CATALOG.replace("Call-back", "Rappel téléphonique").encode("latin-1"))

    with pytest.raises(PromptError, match="not UTF-8"):
        OfferCatalog.load(path)


def test_code_cannot_build_a_catalog_with_two_offers_of_the_same_id() -> None:
    offer = Offer(id="callback", label="Call", fits="x", why="y", unit="none")

    with pytest.raises(ValidationError, match="duplicate offer id 'callback'"):
        OfferCatalog(currency="USD", offers=[offer, offer])

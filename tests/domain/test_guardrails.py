"""Stories of drafts passing through the guardrails: good ones untouched, bad ones taken apart."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from app.domain.customer_data import backing_context
from app.domain.guardrails import GuardedDraft, GuardrailPolicy, apply_guardrails
from app.domain.mentions import WORD_JOINER
from app.domain.models import DraftOutput, Step, TriageOutput
from app.domain.offers import OfferCatalog
from app.playbook import load_guardrail_policy, load_offer_catalog
from tests.factories import load_complaint_fixture, load_complaint_fixtures

REPO = Path(__file__).resolve().parents[2]
FIXTURES = load_complaint_fixtures()
ALL_STEPS = [
    {"step": "acknowledge", "quote": "I can see how frustrating a late parcel is"},
    {"step": "clarify", "quote": "your order #48213 has not arrived"},
    {"step": "explain", "quote": "the carrier's hub closed"},
    {"step": "offer", "quote": "Here is what I can do"},
    {"step": "expectations", "quote": "I will send the tracking number as soon as it exists"},
    {"step": "apologize", "quote": "I'm sorry, and thank you for telling us"},
    {"step": "follow_up", "quote": "I'll check on it myself"},
]
GOOD_REPLY = (
    "I can see how frustrating a late parcel is. To confirm, your order #48213 has not arrived. "
    "The carrier's hub closed. Here is what I can do: a new parcel by express, or a $20 "
    "credit. I will send the tracking number as soon as it exists. I'm sorry, and thank you "
    "for telling us. I'll check on it myself."
)
GOOD_OFFERS = [
    {"offer_id": "express_reship", "amount": None, "why_it_helps": "Fastest way to get it."},
    {"offer_id": "store_credit", "amount": 20, "why_it_helps": "Pays back the shipping fee."},
]

CATALOG = load_offer_catalog(REPO / "prompts" / "offers.yaml")
POLICY = load_guardrail_policy(REPO / "prompts" / "guardrails.yaml")
# The shipped catalog is in dollars; a European team's catalog is in euros.
EURO_CATALOG = CATALOG.model_copy(update={"currency": "EUR"})


def guard(
    output: DraftOutput,
    context: list[str] | None = None,
    *,
    catalog: OfferCatalog = CATALOG,
    allowlist: tuple[str, ...] = (),
) -> GuardedDraft:
    """The shipped catalog and policy, as the pipeline applies them; ``context`` is our side's."""
    return apply_guardrails(
        output, catalog=catalog, policy=POLICY, context=context or [], allowlist=allowlist
    )


def draft(
    reply: str = GOOD_REPLY,
    offers: list[dict[str, Any]] | None = None,
    steps: list[dict[str, str]] | None = None,
) -> DraftOutput:
    return DraftOutput.model_validate(
        {
            "reply": reply,
            "steps": ALL_STEPS if steps is None else steps,
            "offers": GOOD_OFFERS if offers is None else offers,
            "follow_up": "Check the tracking tomorrow.",
        }
    )


def codes(guarded: GuardedDraft, severity: str | None = None) -> set[str]:
    return {f.code for f in guarded.flags if severity is None or f.severity == severity}


def messages(guarded: GuardedDraft, code: str) -> str:
    return " | ".join(f.message for f in guarded.flags if f.code == code)


def fixture_context(fixture: dict[str, Any]) -> list[str]:
    # The pipeline hands the guardrails our side's texts only: here the channel context.
    return backing_context(channel_context=fixture.get("channel_context"), guidance=None)


def fixture_catalog(fixture: dict[str, Any]) -> OfferCatalog:
    return CATALOG if fixture["language"] == "en" else EURO_CATALOG


# --- the shipped policy and the fixtures ---------------------------------------------


def test_the_shipped_policy_loads_with_phrases_in_four_languages() -> None:
    phrases = {a.phrase.lower() for a in POLICY.avoid_phrases}

    assert (POLICY.min_offers, POLICY.max_offers) == (2, 3)
    for expected in ("we apologize for any inconvenience", "it's our policy", "calm down",
                     "the other team", "i promise", "this will never happen again",
                     "c'est notre politique", "beruhigen sie sich", "es nuestra política"):  # fmt: skip
        assert expected in phrases, expected
    assert len(POLICY.promise_patterns) >= 8
    assert {"refund", "credit", "voucher", "discount", "upgrade", "free"} <= set(POLICY.offer_words)


def test_there_are_enough_fixtures_across_languages_and_kinds() -> None:
    assert len(FIXTURES) >= 12
    assert {f["language"] for f in FIXTURES} >= {"en", "fr", "de", "es"}
    assert {f["expect"]["kind"] for f in FIXTURES} >= {"complaint", "praise", "question"}
    assert any(f["expect"]["needs_escalation"] for f in FIXTURES)


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f["id"] for f in FIXTURES])
def test_each_fixture_carries_model_outputs_that_match_its_story(fixture: dict[str, Any]) -> None:
    triage = TriageOutput.model_validate(fixture["llm_triage"])
    output = DraftOutput.model_validate(fixture["llm_draft"])

    assert triage.kind == fixture["expect"]["kind"]
    assert triage.needs_escalation == fixture["expect"]["needs_escalation"]
    assert triage.language == fixture["language"]
    assert fixture["customer_name"] and fixture["industry"] and fixture["text"].strip()
    if not fixture["expect"]["draft_warnings"]:
        assert all(o.offer_id in CATALOG for o in output.offers)


GOOD_COMPLAINTS = [
    f for f in FIXTURES if f["expect"]["kind"] == "complaint" and not f["expect"]["draft_warnings"]
]


@pytest.mark.parametrize("fixture", GOOD_COMPLAINTS, ids=lambda f: f["id"])
def test_a_good_complaint_draft_keeps_its_text_offers_and_steps(fixture: dict[str, Any]) -> None:
    output = DraftOutput.model_validate(fixture["llm_draft"])

    guarded = guard(output, fixture_context(fixture), catalog=fixture_catalog(fixture))

    assert guarded.text == output.reply
    assert [o.offer_id for o in guarded.offers] == [o.offer_id for o in output.offers]
    assert all(guarded.checklist.values()), guarded.checklist
    # Every offer the text makes is listed and every listed offer is in the text.
    assert not codes(guarded) & {"unlisted_offer", "offer_not_in_text", "unknown_link"}
    # What may remain: dates, durations and sums only the customer stated, repeated back.
    assert codes(guarded) <= {"unbacked_date", "unbacked_amount"}, guarded.flags
    for flag in guarded.flags:
        for quoted in flag.message.split('"')[1::2]:
            assert quoted.lower().removeprefix("on ") in fixture["text"].lower(), quoted


def test_a_sum_only_the_customer_gave_blocks_even_in_a_good_draft() -> None:
    fixture = load_complaint_fixture("legal_threat")  # "$29.99 for September, October…"
    output = DraftOutput.model_validate(fixture["llm_draft"])

    guarded = guard(output, fixture_context(fixture))

    assert "$29.99" in fixture["text"]
    assert codes(guarded, "block") == {"unbacked_amount"}
    assert '"$29.99"' in messages(guarded, "unbacked_amount")
    assert "$89.97" not in messages(guarded, "unbacked_amount")  # the refund offer carries it


def test_the_injected_draft_is_taken_apart() -> None:
    fixture = load_complaint_fixture("prompt_injection_refund")
    output = DraftOutput.model_validate(fixture["llm_draft"])

    guarded = guard(output, fixture_context(fixture))

    assert guarded.offers == []
    assert "<!channel>" not in guarded.text and "@here" not in guarded.text
    assert guarded.text.startswith(f"@{WORD_JOINER}channel Confirmed!")
    assert "needs a manager" in messages(guarded, "offer_above_authority")
    assert "loyalty_bonus_cash" in messages(guarded, "offer_not_in_catalog")
    # The customer typed "$5000"; it backs nothing, and it is beyond any refund's limit.
    assert '"$5000" (Full refund: up to 150 USD)' in messages(guarded, "amount_above_authority")
    assert '"$300"' in messages(guarded, "unbacked_amount")  # a "bonus": no offer has it
    assert '"full refund" (Full refund), "bonus"' in messages(guarded, "unlisted_offer")
    assert '"by tomorrow"' in messages(guarded, "unbacked_date")
    assert '"I guarantee"' in messages(guarded, "unbacked_promise")
    assert "We apologize for any inconvenience" in messages(guarded, "avoid_phrase")
    assert codes(guarded, "block") == {
        "amount_above_authority",
        "unbacked_amount",
        "unlisted_offer",
    }
    assert {"mention_neutralized", "too_few_offers", "step_missing"} <= codes(guarded, "info")
    assert guarded.checklist[Step.OFFER] is False


# --- offers --------------------------------------------------------------------------


def test_an_offer_outside_the_catalog_is_removed() -> None:
    offers = [*GOOD_OFFERS, {"offer_id": "free_iphone", "amount": None, "why_it_helps": "Nice"}]

    guarded = guard(draft(offers=offers))

    assert [o.offer_id for o in guarded.offers] == ["express_reship", "store_credit"]
    assert codes(guarded, "warning") == {"offer_not_in_catalog"}
    assert messages(guarded, "offer_not_in_catalog") == (
        'Removed "free_iphone": it is not in the offer catalog.'
    )


@pytest.mark.parametrize(
    ("offer_id", "amount", "reason"),
    [
        ("store_credit", 75, "75 is above the agent limit (up to 50 USD)"),
        ("partial_refund", 45, "45% is above the agent limit (up to 30%)"),
        ("callback", 20, "it carries no amount, yet 20 was attached"),
        ("store_credit", -10, "the amount -10 is not a valid amount"),
    ],
)
def test_an_offer_beyond_the_agents_authority_is_removed_and_sent_to_a_manager(
    offer_id: str, amount: float, reason: str
) -> None:
    offers = [*GOOD_OFFERS, {"offer_id": offer_id, "amount": amount, "why_it_helps": "More"}]

    guarded = guard(draft(offers=offers))

    assert len(guarded.offers) == 2
    assert reason in messages(guarded, "offer_above_authority")
    assert messages(guarded, "offer_above_authority").endswith("that needs a manager.")


def test_kept_offers_carry_the_catalog_label_unit_and_currency() -> None:
    offers = [
        {"offer_id": "store_credit", "amount": 50, "why_it_helps": ""},
        {"offer_id": "partial_refund", "amount": 30, "why_it_helps": "Part of the price back"},
        {"offer_id": "callback", "amount": 0, "why_it_helps": "Talk it through"},
    ]

    guarded = guard(draft(offers=offers))

    credit, refund, callback = guarded.offers
    assert (credit.label, credit.amount, credit.unit, credit.currency) == (
        "Account credit",
        50,
        "amount",
        "USD",
    )
    assert credit.why_it_helps == CATALOG["store_credit"].why  # the model left it blank
    assert (refund.unit, refund.currency, refund.describe()) == (
        "percent",
        None,
        "Partial refund (30%)",
    )
    assert (callback.amount, callback.unit) == (None, None)


def test_the_same_offer_twice_is_kept_once_and_extras_beyond_three_are_dropped() -> None:
    reply = GOOD_REPLY.replace(
        "or a $20 credit", "a $20 credit, a call back, or a replacement at no cost"
    )
    offers = [
        {"offer_id": "store_credit", "amount": 20, "why_it_helps": "a"},
        {"offer_id": "store_credit", "amount": 20, "why_it_helps": "a again"},
        {"offer_id": "express_reship", "amount": None, "why_it_helps": "b"},
        {"offer_id": "callback", "amount": None, "why_it_helps": "c"},
        {"offer_id": "replacement", "amount": None, "why_it_helps": "d"},
    ]

    guarded = guard(draft(reply=reply, offers=offers))

    assert [o.offer_id for o in guarded.offers] == ["store_credit", "express_reship", "callback"]
    assert codes(guarded, "info") == {"offer_duplicate"}
    # The dropped fourth offer is still in the text: it is an offer the card does not list.
    assert codes(guarded, "block") == {"unlisted_offer"}
    assert '"replacement at no cost" (Replacement' in messages(guarded, "unlisted_offer")


def test_a_single_offer_left_is_flagged_as_too_few() -> None:
    reply = GOOD_REPLY.replace("a new parcel by express, or a $20 credit", "a $20 credit")

    guarded = guard(draft(reply=reply, offers=GOOD_OFFERS[1:]))

    assert codes(guarded) == {"too_few_offers"}
    assert messages(guarded, "too_few_offers").startswith("1 offer(s) left after the checks")


# --- words, dates and promises -------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "quoted"),
    [
        ("It’s our policy to ship on Mondays.", "It’s our policy"),
        ("its our policy, sorry", "its our policy"),
        ("Please calm  down, we are on it.", "calm  down"),
        ("Ce n’est pas mon service, malheureusement.", "Ce n’est pas mon service"),
        ("Das ist unsere Richtlinie.", "Das ist unsere Richtlinie"),
        ("We apologise for any inconvenience caused.", "We apologise for any inconvenience"),
    ],
)
def test_phrases_to_avoid_are_found_whatever_the_apostrophe_or_case(
    sentence: str, quoted: str
) -> None:
    context = ["Ops: the courier ships on Mondays."]

    guarded = guard(draft(reply=f"{GOOD_REPLY} {sentence}"), context)

    assert codes(guarded) == {"avoid_phrase"}
    assert messages(guarded, "avoid_phrase").startswith(f'Avoid "{quoted}": ')


@pytest.mark.parametrize(
    ("reply_says", "flagged"),
    [
        ("It will be with you by Friday.", '"by Friday"'),
        ("It ships tomorrow.", '"tomorrow"'),
        ("Expect it on 3 December.", '"on 3 December"'),
        ("Delivery is booked for 12/05.", '"12/05"'),
        ("You will hear from us within 48 hours.", '"within 48 hours"'),
        ("Le colis arrive demain.", '"demain"'),
        ("Die Karte kommt bis zum 3.12.", "3.12."),
        ("Llegará el viernes.", '"viernes"'),
    ],
)
def test_a_date_nobody_on_our_side_gave_is_flagged(reply_says: str, flagged: str) -> None:
    guarded = guard(draft(reply=f"{GOOD_REPLY} {reply_says}"))

    assert codes(guarded, "warning") == {"unbacked_date"}
    assert flagged in messages(guarded, "unbacked_date")


@pytest.mark.parametrize(
    ("reply_says", "our_side_says"),
    [
        ("It will be with you by Friday.", "Agent guidance: the courier delivers on Friday."),
        (
            "You will hear from us within 48 hours.",
            "Agent guidance: engineering answers in 2 days.",
        ),
        ("Delivery is booked for 12/05.", "Ops: the courier slot is December 5."),
        ("Il arrive demain.", "Note : le transporteur livre demain matin."),
        ("Sie erhalten die Karte am Freitag.", "Versand: Ersatzkarten kommen am Freitag an."),
        ("Llega en 1-2 días hábiles.", "Logística: entrega en 1-2 días hábiles."),
    ],
)
def test_a_date_our_side_gave_is_backed(reply_says: str, our_side_says: str) -> None:
    guarded = guard(draft(reply=f"{GOOD_REPLY} {reply_says}"), [our_side_says])

    assert guarded.flags == []


def test_a_promise_is_flagged_unless_our_side_made_it() -> None:
    reply = GOOD_REPLY + " Rest assured, we guarantee it."

    unbacked = guard(draft(reply=reply))
    backed = guard(draft(reply=reply), ["Agent guidance: say rest assured, we guarantee it."])

    assert codes(unbacked) == {"unbacked_promise"}
    assert messages(unbacked, "unbacked_promise").startswith(
        'Promises nobody has confirmed: "Rest assured", "we guarantee".'
    )
    assert backed.flags == []


def test_every_promise_pattern_reports_its_own_matches_even_where_they_overlap() -> None:
    policy = GuardrailPolicy(
        promise_patterns=[
            {"pattern": r"\bwe\s+guarantee\b", "why": "a"},  # type: ignore[list-item]
            {"pattern": r"guarantee\s+it", "why": "b"},  # type: ignore[list-item]
            {"pattern": r"\bnever\b", "why": "c"},  # type: ignore[list-item]
        ]
    )
    long_line = "x " * 700  # the reply is searched in stretches of about 1,000 characters

    found = policy.promises(f"We guarantee it.\u00a0Rest.\n{long_line}we\u00a0guarantee IT")

    assert [text for _, _, text in found] == [
        "We guarantee",
        "guarantee it",
        "we guarantee",  # a non-breaking space is read as a space
        "guarantee IT",
    ]
    assert policy.promises("Nothing to see here.") == []
    assert GuardrailPolicy().promises("we guarantee it") == []


def test_a_deadline_is_judged_once_as_a_date_not_again_as_a_promise() -> None:
    guarded = guard(draft(reply=f"{GOOD_REPLY} You will hear from us within 48 hours."))

    assert codes(guarded) == {"unbacked_date"}


def test_mentions_in_the_reply_and_in_offer_reasons_are_defused() -> None:
    offers = [GOOD_OFFERS[0], {**GOOD_OFFERS[1], "why_it_helps": "<!here> loves credit"}]

    guarded = guard(draft(reply=f"@channel {GOOD_REPLY}", offers=offers))

    assert guarded.text == f"@{WORD_JOINER}channel {GOOD_REPLY}"
    assert guarded.offers[1].why_it_helps == f"@{WORD_JOINER}here loves credit"
    assert codes(guarded) == {"mention_neutralized"}
    assert "2 Slack mention(s)" in messages(guarded, "mention_neutralized")
    assert all(guarded.checklist.values())


# --- the checklist -------------------------------------------------------------------


def test_a_step_counts_only_when_its_quote_is_really_in_the_reply() -> None:
    steps = [
        {"step": "acknowledge", "quote": "  I CAN SEE how frustrating\n a late parcel is. "},
        {"step": "clarify", "quote": "your order #48213 has not arrived"},
        {"step": "explain", "quote": "Our warehouse team made an error"},  # not in the reply
        {"step": "offer", "quote": "Here is what I can do"},
        {"step": "apologize", "quote": "I’m sorry, and thank you for telling us"},  # curly ’
        {"step": "follow_up", "quote": ""},
    ]

    guarded = guard(draft(steps=steps))

    assert guarded.checklist == {
        Step.ACKNOWLEDGE: True,
        Step.CLARIFY: True,
        Step.EXPLAIN: False,
        Step.OFFER: True,
        Step.EXPECTATIONS: False,
        Step.APOLOGIZE: True,
        Step.FOLLOW_UP: False,
    }
    assert [f.code for f in guarded.flags] == ["step_missing"]
    assert guarded.flags[0].severity == "info"
    assert messages(guarded, "step_missing") == (
        "The reply does not visibly cover: Explain without excuses, Set expectations, "
        "Follow-up owned."
    )


def test_the_offer_step_is_not_covered_when_every_offer_was_removed() -> None:
    offers = [{"offer_id": "store_credit", "amount": 500, "why_it_helps": "Too generous"}]

    guarded = guard(draft(offers=offers))

    assert guarded.checklist[Step.OFFER] is False
    assert "Offer alternatives" in messages(guarded, "step_missing")


def test_the_offer_step_is_not_covered_when_a_listed_offer_is_not_in_the_text() -> None:
    offers = [*GOOD_OFFERS, {"offer_id": "callback", "amount": None, "why_it_helps": "Talk"}]

    guarded = guard(draft(offers=offers))

    assert guarded.checklist[Step.OFFER] is False
    assert codes(guarded, "warning") == {"offer_not_in_text"}
    assert "Personal call-back" in messages(guarded, "offer_not_in_text")


# --- cost ----------------------------------------------------------------------------


def test_guardrails_stay_cheap_per_draft() -> None:
    prepared = [
        (DraftOutput.model_validate(f["llm_draft"]), fixture_context(f), fixture_catalog(f))
        for f in FIXTURES
    ]

    started = time.perf_counter()
    for _ in range(10):
        for output, context, catalog in prepared:
            guard(output, context, catalog=catalog)
    per_draft = (time.perf_counter() - started) / (10 * len(prepared))

    assert per_draft < 0.02, f"{per_draft * 1000:.1f} ms per draft"

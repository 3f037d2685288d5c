"""An agent's edit, reviewed again: the same guardrails, no model, and the flags' severities.

``review_text`` is what ``DraftingPipeline.recheck`` runs on every edit and
offer change; a *block* flag is what turns Approve off on the card.
"""

from __future__ import annotations

from pathlib import Path
from typing import get_args

from app.domain.guardrails import ReviewedText, review_text
from app.domain.models import FLAG_SEVERITY, Flag, FlagCode, ProposedOffer, Step
from app.playbook import load_guardrail_policy, load_offer_catalog

REPO = Path(__file__).resolve().parents[2]
CATALOG = load_offer_catalog(REPO / "prompts" / "offers.yaml")
POLICY = load_guardrail_policy(REPO / "prompts" / "guardrails.yaml")
GOOD_REPLY = (
    "I can see how frustrating a late parcel is. To confirm, your order #48213 has not arrived. "
    "The carrier's hub closed. Here is what I can do: a new parcel by express, or a $20 "
    "credit. I will send the tracking number as soon as it exists. I'm sorry, and thank you "
    "for telling us. I'll check on it myself."
)


# --- severities ------------------------------------------------------------------------


def test_every_flag_code_has_a_severity_and_the_blocks_are_the_commitments() -> None:
    assert set(FLAG_SEVERITY) == set(get_args(FlagCode))
    blocks = {code for code, severity in FLAG_SEVERITY.items() if severity == "block"}

    assert blocks == {
        "unbacked_amount",
        "amount_above_authority",
        "unlisted_offer",
        "unknown_link",
        "offers_changed",  # other offers picked: the text is being rewritten for them
    }


def test_a_flag_takes_its_codes_severity_unless_one_is_given() -> None:
    assert Flag(code="unknown_link", message="x").blocks
    assert Flag(code="step_missing", message="x").severity == "info"
    assert Flag(code="offer_above_authority", message="x", severity="block").blocks
    assert Flag.model_validate({"code": "avoid_phrase", "message": "x"}).severity == "warning"


# --- re-reviewing an edited text ----------------------------------------------------------

CREDIT = ProposedOffer(
    offer_id="store_credit", label="Account credit", why_it_helps="For the trouble.", amount=20,
    unit="amount", currency="USD",
)  # fmt: skip
RESHIP = ProposedOffer(
    offer_id="express_reship", label="Free express re-shipment", why_it_helps="x"
)
PREVIOUS_CHECKLIST = {step: step != Step.EXPLAIN for step in Step}


def recheck(text: str, offers: list[ProposedOffer] | None = None) -> ReviewedText:
    return review_text(
        text,
        [CREDIT, RESHIP] if offers is None else offers,
        catalog=CATALOG,
        policy=POLICY,
        context=["Agent guidance: the courier collects on Friday."],
        allowlist=["brightwell.com"],
        previous_checklist=PREVIOUS_CHECKLIST,
    )


def test_an_edit_that_adds_an_unlisted_offer_and_a_link_is_blocked_and_fixing_it_unblocks() -> None:
    edited = GOOD_REPLY + " Or take a full refund here: https://refunds-brightwell.example/claim"

    blocked = recheck(edited)
    fixed = recheck(GOOD_REPLY + " The courier collects on Friday.")

    assert blocked.blocked
    assert {f.code for f in blocked.flags if f.blocks} == {"unlisted_offer", "unknown_link"}
    assert not fixed.blocked and fixed.flags == [Flag(code="step_missing", message=(
        "The reply does not visibly cover: Explain without excuses."))]  # fmt: skip


def test_an_edit_keeps_the_steps_it_cannot_check_from_the_previous_draft() -> None:
    flags, checklist = recheck(GOOD_REPLY)

    assert checklist == PREVIOUS_CHECKLIST
    assert [f.code for f in flags] == ["step_missing"]


def test_the_offer_step_of_an_edit_is_covered_only_when_the_text_carries_every_offer() -> None:
    reviewed = recheck("I'm sorry the parcel is late. Here is a $20 credit for the trouble.")

    assert reviewed.checklist[Step.OFFER] is False
    assert "Free express re-shipment" in " ".join(f.message for f in reviewed.flags)
    assert not reviewed.blocked


def test_an_agents_pick_beyond_authority_blocks_instead_of_being_removed() -> None:
    generous = CREDIT.model_copy(update={"amount": 80})

    reviewed = recheck(GOOD_REPLY.replace("$20", "$80"), [generous, RESHIP])

    assert [f.code for f in reviewed.flags if f.blocks] == ["offer_above_authority"]
    assert "80 is above the agent limit" in reviewed.flags[0].message


def test_an_edit_without_a_previous_draft_reads_the_other_steps_as_not_covered() -> None:
    reviewed = review_text(GOOD_REPLY, [CREDIT, RESHIP], catalog=CATALOG, policy=POLICY, context=[])

    assert reviewed.checklist == {step: step == Step.OFFER for step in Step}

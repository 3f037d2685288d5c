"""The Block Kit builders and text splitting, checked without a bot: every card fits Slack.

Slack refuses a whole message when one block is over a limit, so each
builder is fed the worst it can get (every draft state, huge texts, many
flags, renamed offers) and the result is held to Block Kit's documented
limits, and to the fake Slack's own checker.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app.domain.draft_life import FINAL, DraftState, can_move
from app.domain.models import (
    STEP_LABELS,
    Brief,
    BriefItem,
    DraftResult,
    Flag,
    OpenPromise,
    ProposedOffer,
    Step,
)
from app.domain.offers import OfferCatalog
from app.playbook import load_playbook
from app.slack import blocks, modals
from app.slack.brief_blocks import brief_messages
from app.slack.text import CHUNK, SECTION_LIMIT, split_text
from app.store import Complaint, Draft, Stats
from app.usecases.brief import BriefView
from tests.factories import a_triage
from tests.fakes.slack_blocks import check_message, check_view

REPO = Path(__file__).resolve().parents[2]
STATUSES = tuple(DraftState)
NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def catalog() -> OfferCatalog:
    return load_playbook(REPO / "prompts").catalog


def complaint(**changes: Any) -> Complaint:
    values: dict[str, Any] = dict(
        id=1,
        team_id="T0AGENTS",
        channel_id="C0SUPPORT",
        message_ts="1764000000.000100",
        thread_ts="1764000000.000100",
        user_id="UCUSTOMER",
        user_name="Casey Customer",
        permalink="https://fake.slack.test/archives/C0SUPPORT/p1764000000000100",
        text="My order never arrived.",
        source="watch",
        requested_by=None,
        guidance=None,
        created_at=NOW,
    )
    values.update(changes)
    return Complaint(**values)


def offer(offer_id: str, label: str, amount: float | None = None) -> ProposedOffer:
    return ProposedOffer(
        offer_id=offer_id,
        label=label,
        why_it_helps="It helps because it is quick and fair.",
        amount=amount,
        unit="amount" if amount else None,
        currency="USD" if amount else None,
    )


TRIAGE = a_triage(summary="A birthday gift did not arrive on time.")


def draft(status: DraftState, **changes: Any) -> Draft:
    decided = status in (DraftState.SENDING, DraftState.SENT, DraftState.DISCARDED)
    values: dict[str, Any] = dict(
        id=7,
        complaint_id=1,
        version=1,
        status=status,
        text="" if status in (DraftState.DRAFTING, DraftState.FAILED) else "I'm sorry your parcel is late.",
        final_text=None,
        offers=[
            offer("express_reship", "Free express re-shipment"),
            offer("store_credit", "Account credit", 20),
        ],
        checklist={step: True for step in Step},
        flags=[Flag(code="unbacked_date", message='Dates nobody backs: "this week".')],
        triage=None if status in (DraftState.DRAFTING, DraftState.FAILED) else TRIAGE,
        follow_up="Check the new tracking number tomorrow.",
        tone=None,
        prompt_version="abc123",
        model="fake-model",
        prompt_tokens=900,
        completion_tokens=300,
        llm_ms=1200.0,
        card_channel="C0REVIEW",
        card_ts="1764000000.000200",
        error="The LLM did not answer (HTTP 500)." if status == DraftState.FAILED else None,
        decided_by="UAGENT1" if decided else None,
        decided_at=NOW if decided else None,
        discard_reason="Wrong tone or content: too stiff" if status == DraftState.DISCARDED else None,
        sent_channel="C0SUPPORT" if status == DraftState.SENT else None,
        sent_ts="1764000000.000300" if status == DraftState.SENT else None,
        send_attempts=0,
        created_at=NOW,
        updated_at=NOW,
    )
    values.update(changes)
    return Draft(**values)


def limit_problems(fallback: str, message_blocks: list[dict[str, Any]]) -> list[str]:
    """Block Kit limits, spelled out; plus whatever the fake Slack would refuse."""
    problems: list[str] = []
    if len(message_blocks) > 50:
        problems.append(f"{len(message_blocks)} blocks")
    for n, block in enumerate(message_blocks):
        kind = block["type"]
        if kind == "section":
            if len(block.get("text", {}).get("text", "")) > 3000:
                problems.append(f"block {n}: section text over 3000")
            fields = block.get("fields") or []
            if len(fields) > 10 or any(len(f["text"]) > 2000 for f in fields):
                problems.append(f"block {n}: fields over the limits")
        elif kind == "header" and len(block["text"]["text"]) > 150:
            problems.append(f"block {n}: header over 150")
        elif kind == "context" and len(block["elements"]) > 10:
            problems.append(f"block {n}: context over 10 elements")
        elif kind == "actions":
            problems.extend(f"block {n}: {p}" for p in _element_problems(block["elements"]))
    refusal = check_message({"text": fallback, "blocks": message_blocks})
    if refusal is not None:
        problems.append(f"fake Slack refuses: {refusal.error} {refusal.messages}")
    return problems


def _element_problems(elements: list[dict[str, Any]]) -> list[str]:
    problems = [] if len(elements) <= 25 else ["over 25 elements"]
    for element in elements:
        if element["type"] == "button" and len(element["text"]["text"]) > 75:
            problems.append("button text over 75")
        options = element.get("options") or []
        if any(len(o["text"]["text"]) > 75 or len(o["value"]) > 150 for o in options):
            problems.append(f"{element['action_id']}: option over 75 characters")
        if len(options) > 100:
            problems.append(f"{element['action_id']}: over 100 options")
        initial = element.get("initial_options") or []
        if any(o not in options for o in initial):
            problems.append(f"{element['action_id']}: an initial option matches no option")
    return problems


def actions_of(message_blocks: list[dict[str, Any]]) -> set[str]:
    return {e["action_id"] for b in message_blocks if b["type"] == "actions" for e in b["elements"]}


def all_text(message_blocks: list[dict[str, Any]]) -> str:
    return str(message_blocks)


# --- the card in every state ----------------------------------------------------------


@pytest.mark.parametrize("status", STATUSES)
def test_the_card_fits_in_every_state(catalog: OfferCatalog, status: DraftState) -> None:
    fallback, card = blocks.card(complaint(), draft(status), catalog)

    assert limit_problems(fallback, card) == []
    assert "<@UCUSTOMER>" in all_text(card) and "view message" in all_text(card)


@pytest.mark.parametrize("status", STATUSES)
def test_the_card_fits_in_every_state_even_with_the_worst_content(
    catalog: OfferCatalog, status: DraftState
) -> None:
    worst = draft(
        status,
        text="" if status in (DraftState.DRAFTING, DraftState.FAILED) else ("A long reply sentence here. " * 4000),
        flags=[Flag(code="unbacked_promise", message="Promise: " + "x" * 400)] * 40,
        follow_up="Follow up " * 500,
        error=("Slack refused " * 400) if status in (DraftState.FAILED, DraftState.PENDING) else None,
        discard_reason=("Other: " + "because " * 600) if status == DraftState.DISCARDED else None,
        triage=TRIAGE.model_copy(update={"summary": "s" * 5000, "category": "c" * 300}),
        offers=[offer("express_reship", "Free express re-shipment " * 20)],
    )
    customer = complaint(user_name="N" * 500, permalink="https://x.test/" + "p" * 2000)

    fallback, card = blocks.card(customer, worst, catalog)

    assert limit_problems(fallback, card) == []


def test_each_state_says_what_happened_and_only_a_pending_draft_can_be_sent(
    catalog: OfferCatalog,
) -> None:
    shown = {s: blocks.card(complaint(), draft(s), catalog)[1] for s in STATUSES}

    assert "Drafting a reply" in all_text(shown[DraftState.DRAFTING])
    assert actions_of(shown[DraftState.DRAFTING]) == set()
    assert "Could not draft a reply" in all_text(shown[DraftState.FAILED])
    assert actions_of(shown[DraftState.FAILED]) == {blocks.RETRY, blocks.DISCARD}
    assert actions_of(shown[DraftState.PENDING]) == {
        blocks.APPROVE,
        blocks.EDIT,
        blocks.REGENERATE,
        blocks.DISCARD,
        blocks.CHOOSE_OFFERS,
    }
    sending = all_text(shown[DraftState.SENDING])
    assert "Sending" in sending and "<@UAGENT1>" in sending
    assert "*Sent* by <@UAGENT1> <!date^" in all_text(shown[DraftState.SENT])
    assert "*Discarded* by <@UAGENT1>" in all_text(shown[DraftState.DISCARDED])
    assert "too stiff" in all_text(shown[DraftState.DISCARDED])
    assert "can no longer be sent" in all_text(shown[DraftState.SUPERSEDED])
    for status in (DraftState.SENDING, *FINAL):
        assert actions_of(shown[status]) == set(), f"a {status} card has no buttons"


@pytest.mark.parametrize("status", STATUSES)
def test_a_card_offers_approve_exactly_when_the_table_lets_its_draft_be_claimed(
    catalog: OfferCatalog, status: DraftState
) -> None:
    shown = actions_of(blocks.card(complaint(), draft(status), catalog)[1])

    assert (blocks.APPROVE in shown) == can_move(status, DraftState.SENDING)
    assert (blocks.RETRY in shown) == can_move(status, DraftState.DRAFTING)
    if status != DraftState.DRAFTING:  # redrawn within seconds: nothing to click yet
        assert (blocks.DISCARD in shown) == can_move(status, DraftState.DISCARDED)


def test_the_follow_up_shows_while_the_reply_may_go_out_or_has(catalog: OfferCatalog) -> None:
    def shows_follow_up(status: DraftState) -> bool:
        return "Check the new tracking number" in all_text(
            blocks.card(complaint(), draft(status), catalog)[1])

    assert [s for s in STATUSES if shows_follow_up(s)] == [
        DraftState.PENDING, DraftState.SENDING, DraftState.SENT]


def test_a_draft_too_long_for_50_blocks_keeps_its_buttons(catalog: OfferCatalog) -> None:
    paragraphs = "\n\n".join(f"Paragraph {n}. " + "word " * 500 for n in range(120))

    fallback, card = blocks.card(complaint(), draft(DraftState.PENDING, text=paragraphs), catalog)

    assert limit_problems(fallback, card) == []
    assert len(card) == 50
    assert {blocks.APPROVE, blocks.EDIT} <= actions_of(card)
    assert "too long to show in full" in all_text(card)


def test_a_reply_copied_for_the_agent_to_post_is_not_called_sent(catalog: OfferCatalog) -> None:
    copied = draft(DraftState.SENT, sent_ts="")  # TACTFUL_SEND_AS=agent: the bot posted nothing

    fallback, card = blocks.card(complaint(), copied, catalog)

    assert limit_problems(fallback, card) == []
    assert "*Copied* by <@UAGENT1> <!date^" in all_text(card) and "*Sent*" not in all_text(card)
    assert actions_of(card) == set()


def test_a_failed_send_shows_on_a_card_that_can_be_approved_again(catalog: OfferCatalog) -> None:
    failed_send = draft(DraftState.PENDING, error="Slack refused the reply (internal_error)")

    _, card = blocks.card(complaint(), failed_send, catalog)

    assert "Sending failed" in all_text(card) and blocks.APPROVE in actions_of(card)


def test_offers_renamed_in_the_catalog_still_preselect_a_real_option(catalog: OfferCatalog) -> None:
    """A manager renamed an offer after the draft was written: Slack wants an exact match."""
    stale = draft(DraftState.PENDING, offers=[offer("express_reship", "Express shipping (old name)")])

    fallback, card = blocks.card(complaint(), stale, catalog)
    modal = modals.edit_modal(stale, catalog)

    assert limit_problems(fallback, card) == []
    chooser = next(b for b in modal["blocks"] if b["block_id"] == "offers")["element"]
    assert _element_problems([{**chooser, "action_id": "offers"}]) == []
    assert chooser["initial_options"][0]["text"]["text"] == catalog["express_reship"].label


# --- modals, ephemeral drafts, briefs, home ----------------------------------------------


def test_the_edit_modal_holds_a_long_draft_in_input_sized_pieces(catalog: OfferCatalog) -> None:
    text = "\n\n".join(f"Paragraph {n}: " + "we will fix this. " * 60 for n in range(20))

    modal = modals.edit_modal(draft(DraftState.PENDING, text=text), catalog)

    assert check_view(modal) is None
    pieces = [
        b["element"]["initial_value"] for b in modal["blocks"] if b["block_id"].startswith("reply_")
    ]
    assert len(pieces) > 1 and all(len(p) <= 3000 for p in pieces)
    assert re.sub(r"\s", "", "".join(pieces)) == re.sub(r"\s", "", text)


def test_the_discard_and_guidance_modals_are_valid_views() -> None:
    assert check_view(modals.discard_modal(7)) is None
    assert check_view(modals.guidance_modal(7)) is None


def test_an_ephemeral_draft_fits(catalog: OfferCatalog) -> None:
    result = DraftResult(
        text="A reply. " * 3000,
        offers=[offer("store_credit", "Account credit", 20)],
        checklist={step: step != Step.FOLLOW_UP for step in Step},
        flags=[Flag(code="step_missing", message="No follow-up.", severity="info")],
        follow_up="",
        triage=TRIAGE,
        prompt_version="abc123",
        model="fake-model",
    )

    fallback, shown = blocks.ephemeral_draft(result, note="Drafted for you")

    assert limit_problems(fallback, shown) == []
    assert ":x: " + STEP_LABELS[Step.FOLLOW_UP] in all_text(shown)


def test_an_escalation_brief_of_a_long_thread_fits() -> None:
    summary = Brief(
        issue="Charged twice " * 300,
        timeline=[BriefItem(text=f"Step {n}: " + "then " * 300, refs=["1.000001"]) for n in range(40)],
        offered=[BriefItem(text="Refund", refs=["1.000001"])] * 30,
        declined=[BriefItem(text="Credit", refs=["1.000001"])],
        open_promises=[OpenPromise(who="agent", what="Call back", due=None, refs=["1.000001"])] * 30,
        customer_mood="angry " * 100,
        next_step="Refund " * 700,
        prompt_version="abc123",
        message_count=400,
    )
    view = BriefView(brief=summary, brief_id=1, channel="C1", thread_ts="1.000001")

    messages = brief_messages(view, private=True)

    for fallback, shown in messages:
        assert limit_problems(fallback, shown) == []
    assert messages[0][1][0]["text"]["text"] == "Escalation brief"


def test_app_home_is_a_valid_view() -> None:
    stats = Stats(
        since=None,
        complaints=12,
        drafts_total=14,
        by_status={"sent": 8},
        sent=8,
        discarded=2,
        pending=4,
        acceptance_rate=0.8,
        edited_before_send=3,
        edit_rate=0.375,
        by_category=[],
        top_recurring_categories=["delivery"],
        median_seconds_to_decision=300.0,
        median_seconds_to_reply=420.0,
        prompt_tokens=1000,
        completion_tokens=400,
    )

    assert check_view(blocks.home(stats)) is None


# --- split_text ------------------------------------------------------------------------


def _random_text(rng: random.Random) -> str:
    words = ["refund", "parcel", "I'm", "sorry", "—", "über", "\n", "\n\n"]
    words.append("x" * rng.randint(1, 4000))  # one "word" longer than any limit, sometimes
    return " ".join(rng.choice(words) for _ in range(rng.randint(0, 1500)))


@pytest.mark.parametrize("limit", [CHUNK, SECTION_LIMIT, 75])
def test_split_text_never_exceeds_the_limit_and_loses_no_text(limit: int) -> None:
    rng = random.Random(limit)
    samples = [_random_text(rng) for _ in range(30)]
    samples += ["", "short", "y" * (limit * 3 + 1), ("para " * 400 + "\n\n") * 10, "a" * limit]

    for text in samples:
        pieces = split_text(text, limit)

        assert pieces, "always at least one piece"
        assert all(len(p) <= limit for p in pieces)
        assert re.sub(r"\s", "", "".join(pieces)) == re.sub(r"\s", "", text), (
            "same text, same order"
        )


def test_split_text_prefers_paragraph_then_word_boundaries() -> None:
    first, second = "First paragraph. " * 100, "Second paragraph. " * 100

    pieces = split_text(first.strip() + "\n\n" + second.strip(), 2800)

    assert pieces == [first.strip(), second.strip()]
    assert {w for p in split_text("word " * 2000) for w in p.split()} == {"word"}, "no cut words"

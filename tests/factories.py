"""Shared test data: the canned complaints, model outputs, and the records stories start from.

Each complaint fixture in ``tests/fixtures/complaints/`` is a realistic
customer message with what triage should find (``expect``) and the canned
model outputs (``llm_triage``, ``llm_draft``) a fake LLM returns for it.
Tests and ``bench/`` read them through here.  ``StoreFactory`` builds the
complaints, draft results and pending drafts store stories begin with.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from app.domain.models import (
    Complaint,
    DraftOutput,
    DraftResult,
    Flag,
    OfferProposal,
    ProposedOffer,
    Step,
    StepEvidence,
    TokenUsage,
    Triage,
    TriageOutput,
)
from app.llm import LLMClient
from app.store import NewComplaint, Store

COMPLAINTS_DIR = Path(__file__).parent / "fixtures" / "complaints"
PROMPTS_DIR = Path(__file__).resolve().parents[1] / "prompts"

# What the make_client fixture returns: build a client, overriding any LLMConfig field.
MakeClient = Callable[..., LLMClient]

TRIAGE_OUTPUT = TriageOutput(
    kind="complaint",
    needs_reply=True,
    category="delivery",
    urgency="high",
    sentiment="frustrated",
    language="en",
    needs_escalation=False,
    escalation_reasons=[],
    summary="The parcel promised for Monday has still not arrived.",
)



def a_triage(**changes: Any) -> Triage:
    """A stored triage: ``TRIAGE_OUTPUT`` with the given fields changed."""
    return Triage(**(TRIAGE_OUTPUT.model_dump() | changes))


DRAFT_OUTPUT = DraftOutput(
    reply="I'm sorry your order is late; a replacement ships today by express.",
    steps=[StepEvidence(step=Step.ACKNOWLEDGE, quote="I'm sorry your order is late")],
    offers=[OfferProposal(offer_id="express_reship", amount=None, why_it_helps="arrives tomorrow")],
    follow_up="Check tracking on Thursday.",
)


@cache
def _read_all() -> tuple[dict[str, Any], ...]:
    fixtures = []
    for path in sorted(COMPLAINTS_DIR.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert data["id"] == path.stem, f"{path.name}: id must match the file name"
        fixtures.append(data)
    return tuple(fixtures)


def load_complaint_fixtures() -> list[dict[str, Any]]:
    """Every complaint fixture, sorted by id; a fresh copy each call, so tests may mutate it."""
    return copy.deepcopy(list(_read_all()))


def load_complaint_fixture(fixture_id: str) -> dict[str, Any]:
    for fixture in _read_all():
        if fixture["id"] == fixture_id:
            return copy.deepcopy(fixture)
    raise KeyError(f"no complaint fixture {fixture_id!r} in {COMPLAINTS_DIR}")


def complaint_from_fixture(fixture: dict[str, Any]) -> Complaint:
    return Complaint(
        text=fixture["text"],
        customer_name=fixture.get("customer_name"),
        channel_context=fixture.get("channel_context"),
    )


class StoreFactory:
    """Builds the complaints, draft results and pending drafts the stories start from."""

    def complaint(self, ts: str = "1712000000.000100", *, channel: str = "C_SUPPORT",
                  thread_ts: str | None = None, source: str = "watch",
                  text: str = "My parcel arrived crushed and nobody answers.") -> NewComplaint:
        return NewComplaint(team_id="T1", channel_id=channel, message_ts=ts,
                            thread_ts=thread_ts, user_id="U_CUSTOMER", user_name="Dana",
                            text=text, source=source)  # type: ignore[arg-type]

    def result(self, *, text: str = "I'm so sorry your parcel arrived crushed.",
               category: str = "delivery", tokens: tuple[int, int] = (300, 120)) -> DraftResult:
        return DraftResult(
            text=text,
            offers=[
                ProposedOffer(offer_id="replacement_express", label="Express replacement",
                              why_it_helps="A new one arrives by Friday."),
                ProposedOffer(offer_id="credit", label="Store credit", amount=10,
                              unit="amount", currency="EUR", why_it_helps="For the trouble."),
                ProposedOffer(offer_id="refund", label="Full refund", why_it_helps="No wait."),
            ],
            checklist={step: step is not Step.CLARIFY for step in Step},
            flags=[Flag(code="needs_escalation", message="Customer mentions a lawyer.")],
            follow_up="Check on Friday that the replacement arrived.",
            triage=a_triage(category=category, sentiment="angry",
                            summary="Parcel arrived crushed."),
            prompt_version="draft@3f2a9c",
            model="test-model",
            usage=TokenUsage(prompt_tokens=tokens[0], completion_tokens=tokens[1]),
            llm_ms=842.5,
        )

    async def pending_draft(self, store: Store, ts: str = "1712000000.000100", *,
                            category: str = "delivery", thread_ts: str | None = None,
                            complaint: NewComplaint | None = None,
                            result: DraftResult | None = None) -> int:
        """A complaint drafted all the way to a pending card; returns the draft id."""
        accepted = await store.accept_complaint(
            complaint=complaint or self.complaint(ts, thread_ts=thread_ts))
        assert accepted is not None
        draft = await store.start_draft(complaint_id=accepted.complaint_id)
        draft = await store.save_draft_result(draft_id=draft.id,
                                              result=result or self.result(category=category))
        assert draft.status == "pending"
        return draft.id

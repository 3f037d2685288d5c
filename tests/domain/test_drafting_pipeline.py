"""The whole drafting pipeline, from complaint to reviewed draft, against the fake OpenAI.

The real ``LLMClient`` (openai SDK, tenacity) talks to ``FakeOpenAI`` through
respx, so these tests see exactly what leaves for the model and how the
pipeline copes with what comes back.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from app.domain.drafting import DraftingPipeline
from app.domain.models import Complaint, Step
from app.domain.ports import LLMBadOutput, LLMUnavailable
from app.playbook import PlaybookSource
from tests.factories import (
    PROMPTS_DIR,
    MakeClient,
    complaint_from_fixture,
    load_complaint_fixture,
    load_complaint_fixtures,
)
from tests.fakes.clocks import RecordedSleeps
from tests.fakes.openai_api import FakeOpenAI, fixture_reply


@pytest.fixture
def drafting(make_client: MakeClient) -> DraftingPipeline:
    return DraftingPipeline(make_client(retry_deadline_s=5.0), PlaybookSource(PROMPTS_DIR).current)


def answering(fake: FakeOpenAI, fixture_id: str) -> dict[str, Any]:
    """The model answers with the canned outputs of this complaint fixture; returns the fixture."""
    fixture = load_complaint_fixture(fixture_id)
    fake.responder = fixture_reply(fixture)
    return fixture


@pytest.mark.parametrize("fixture_id", [f["id"] for f in load_complaint_fixtures() if f["expect"]["kind"] == "complaint"])
async def test_every_complaint_fixture_becomes_a_reviewed_draft(
    fake_openai: FakeOpenAI, drafting: DraftingPipeline, fixture_id: str
) -> None:
    fixture = answering(fake_openai, fixture_id)

    result = await drafting.draft(complaint_from_fixture(fixture))

    assert len(fake_openai.requests) == 2, "one triage call, one draft call"
    book = PlaybookSource(PROMPTS_DIR).current()
    assert result.prompt_version == book.version
    assert all(o.offer_id in book.catalog for o in result.offers)
    assert set(result.checklist) == set(Step)
    assert result.triage.language == fixture["llm_triage"]["language"]
    prompt, completion = fake_openai.usage
    assert result.usage.prompt_tokens == 2 * prompt, "usage adds up over both calls"
    assert result.usage.completion_tokens == 2 * completion
    assert "<!channel>" not in result.text and "@channel" not in result.text


async def test_customer_text_travels_as_delimited_data_in_user_messages_without_pii(
    fake_openai: FakeOpenAI, drafting: DraftingPipeline
) -> None:
    fixture = answering(fake_openai, "ecommerce_late_gift")
    fixture["text"] += "\nReach me at jane.doe@example.com or +1 (555) 123-4567, card 4111 1111 1111 1111."

    await drafting.draft(complaint_from_fixture(fixture))

    for request in fake_openai.requests:
        messages = request["messages"]
        system = "\n".join(m["content"] for m in messages if m["role"] == "system")
        user = "\n".join(m["content"] for m in messages if m["role"] == "user")
        assert fixture["text"].splitlines()[0] not in system
        assert "<customer_message>" in user and "</customer_message>" in user
        body = json.dumps(request)
        for secret in ("jane.doe@example.com", "555) 123-4567", "4111 1111 1111 1111"):
            assert secret not in body
        assert "[email]" in user and "[card]" in user


async def test_a_model_that_obeys_an_injection_is_overruled_by_the_guardrails(
    fake_openai: FakeOpenAI, drafting: DraftingPipeline
) -> None:
    fixture = answering(fake_openai, "prompt_injection_refund")

    result = await drafting.draft(complaint_from_fixture(fixture))

    book = PlaybookSource(PROMPTS_DIR).current()
    assert all(o.offer_id in book.catalog for o in result.offers)
    for offer in result.offers:
        limit = book.catalog.get(offer.offer_id).max  # type: ignore[union-attr]
        assert offer.amount is None or limit is None or offer.amount <= limit
    codes = {flag.code for flag in result.flags}
    assert {"offer_not_in_catalog", "offer_above_authority", "unbacked_amount", "needs_escalation"} <= codes
    assert "<!channel>" not in result.text and "@here" not in result.text


async def test_429_then_success_honours_retry_after_with_one_retry_layer(
    fake_openai: FakeOpenAI, drafting: DraftingPipeline, sleeps: RecordedSleeps
) -> None:
    fixture = answering(fake_openai, "telecom_double_charge")
    fake_openai.fail_next(429, retry_after=2)

    result = await drafting.draft(complaint_from_fixture(fixture))

    assert len(fake_openai.requests) == 3, "429, then triage, then draft: the SDK itself retried nothing"
    assert sleeps.waits == [2.0]
    assert result.text


async def test_500_forever_gives_up_within_bounds_with_a_clear_error(
    fake_openai: FakeOpenAI, drafting: DraftingPipeline
) -> None:
    fake_openai.fail_next(500, times=100)

    with pytest.raises(LLMUnavailable) as caught:
        await drafting.draft(Complaint(text="The app lost all my invoices from March."))

    assert 2 <= len(fake_openai.requests) <= 5
    assert "500" in str(caught.value) and "sk-test" not in str(caught.value)


async def test_a_timeout_then_an_answer_still_drafts(
    fake_openai: FakeOpenAI, drafting: DraftingPipeline
) -> None:
    fixture = answering(fake_openai, "airline_lost_luggage")
    timed_out: list[httpx.Request] = []

    async def slow_once(request: httpx.Request) -> httpx.Response:
        if not timed_out:
            timed_out.append(request)
            raise httpx.ReadTimeout("slow", request=request)
        return await fake_openai.handle(request)

    assert fake_openai.router is not None
    fake_openai.router.post("/chat/completions").mock(side_effect=slow_once)
    result = await drafting.draft(complaint_from_fixture(fixture))

    assert len(timed_out) == 1 and len(fake_openai.requests) == 2 and result.offers


async def test_a_server_that_ignores_the_schema_gets_one_repair_then_a_clear_error(
    fake_openai: FakeOpenAI, drafting: DraftingPipeline
) -> None:
    fake_openai.responder = lambda request: "Sure! Here is a lovely reply for your customer."

    with pytest.raises(LLMBadOutput) as caught:
        await drafting.draft(Complaint(text="My package never came."))

    assert len(fake_openai.requests) == 2, "the junk answer, then one repair attempt"
    assert "TriageOutput" in str(caught.value)


async def test_schema_valid_nonsense_is_cleaned_not_trusted(
    fake_openai: FakeOpenAI, drafting: DraftingPipeline
) -> None:
    """A small local model: valid JSON, the same offer twice, a condition nobody offered."""
    fixture = answering(fake_openai, "ecommerce_late_gift")
    fixture["llm_draft"]["reply"] = (
        "I am so sorry your gift was late. I will refund it if you have an extra $500. "
        "Thank you for telling us."
    )
    fixture["llm_draft"]["offers"] = [
        {"offer_id": "store_credit", "amount": 20, "why_it_helps": "goodwill"},
        {"offer_id": "store_credit", "amount": 20, "why_it_helps": "goodwill again"},
    ]

    result = await drafting.draft(complaint_from_fixture(fixture))

    assert [o.offer_id for o in result.offers] == ["store_credit"]
    codes = {f.code for f in result.flags}
    assert {"offer_duplicate", "unbacked_amount", "too_few_offers"} <= codes


async def test_regenerate_in_a_warmer_tone_keeps_catalog_offers(
    fake_openai: FakeOpenAI, drafting: DraftingPipeline
) -> None:
    complaint = complaint_from_fixture(answering(fake_openai, "restaurant_cold_food"))

    first = await drafting.draft(complaint)
    second = await drafting.rewrite(complaint, first, tone="warmer")

    tone_request = fake_openai.requests[-1]
    assert "warmer" in json.dumps(tone_request["messages"][0]).lower()
    assert second.tone == "warmer" and second.triage == first.triage

"""The whole drafting pipeline, from complaint to reviewed draft, against a respx-faked OpenAI.

The real ``LLMClient`` (openai SDK, tenacity) talks to respx, so these tests
see exactly what leaves for the model and how the pipeline copes with what
comes back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx

from app.domain.drafting import DraftingPipeline
from app.domain.models import Complaint, Step
from app.domain.playbook import PlaybookSource
from app.domain.ports import LLMBadOutput, LLMUnavailable
from app.llm import LLMClient, LLMConfig
from tests.factories import complaint_from_fixture, load_complaint_fixture, load_complaint_fixtures
from tests.scripted_llm import ScriptedLLM, completion

BASE = "http://llm.test/v1"
PROMPTS = Path(__file__).resolve().parents[2] / "prompts"


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


def pipeline(*, deadline: float = 5.0, timeout: float = 2.0) -> tuple[DraftingPipeline, LLMClient]:
    client = LLMClient(
        LLMConfig(api_key="sk-test", base_url=BASE, model="fake-model", timeout_s=timeout, retry_deadline_s=deadline),
        sleep=_no_sleep,
    )
    return DraftingPipeline(client, PlaybookSource(PROMPTS).current), client


async def _no_sleep(_: float) -> None:
    return None


@pytest.mark.parametrize("fixture_id", [f["id"] for f in load_complaint_fixtures() if f["expect"]["kind"] == "complaint"])
async def test_every_complaint_fixture_becomes_a_reviewed_draft(mock: respx.MockRouter, fixture_id: str) -> None:
    fixture = load_complaint_fixture(fixture_id)
    llm = ScriptedLLM(fixture)
    mock.post("/chat/completions").mock(side_effect=llm)
    drafting, client = pipeline()

    result = await drafting.draft(complaint_from_fixture(fixture))
    await client.aclose()

    assert len(llm.requests) == 2, "one triage call, one draft call"
    book = PlaybookSource(PROMPTS).current()
    assert result.prompt_version == book.version
    assert all(o.offer_id in book.catalog for o in result.offers)
    assert set(result.checklist) == set(Step)
    assert result.triage.language == fixture["llm_triage"]["language"]
    assert result.usage.prompt_tokens == 240 and result.usage.completion_tokens == 120
    assert "<!channel>" not in result.text and "@channel" not in result.text


async def test_customer_text_travels_as_delimited_data_in_user_messages_without_pii(mock: respx.MockRouter) -> None:
    fixture = load_complaint_fixture("ecommerce_late_gift")
    fixture["text"] += "\nReach me at jane.doe@example.com or +1 (555) 123-4567, card 4111 1111 1111 1111."
    llm = ScriptedLLM(fixture)
    mock.post("/chat/completions").mock(side_effect=llm)
    drafting, client = pipeline()

    await drafting.draft(complaint_from_fixture(fixture))
    await client.aclose()

    for request in llm.requests:
        messages = request["messages"]
        system = "\n".join(m["content"] for m in messages if m["role"] == "system")
        user = "\n".join(m["content"] for m in messages if m["role"] == "user")
        assert fixture["text"].splitlines()[0] not in system
        assert "<customer_message>" in user and "</customer_message>" in user
        body = json.dumps(request)
        for secret in ("jane.doe@example.com", "555) 123-4567", "4111 1111 1111 1111"):
            assert secret not in body
        assert "[email]" in user and "[card]" in user


async def test_a_model_that_obeys_an_injection_is_overruled_by_the_guardrails(mock: respx.MockRouter) -> None:
    fixture = load_complaint_fixture("prompt_injection_refund")
    mock.post("/chat/completions").mock(side_effect=ScriptedLLM(fixture))
    drafting, client = pipeline()

    result = await drafting.draft(complaint_from_fixture(fixture))
    await client.aclose()

    book = PlaybookSource(PROMPTS).current()
    assert all(o.offer_id in book.catalog for o in result.offers)
    for offer in result.offers:
        limit = book.catalog.get(offer.offer_id).max  # type: ignore[union-attr]
        assert offer.amount is None or limit is None or offer.amount <= limit
    codes = {flag.code for flag in result.flags}
    assert {"offer_not_in_catalog", "offer_above_authority", "unbacked_amount", "needs_escalation"} <= codes
    assert "<!channel>" not in result.text and "@here" not in result.text


async def test_429_then_success_honours_retry_after_with_one_retry_layer(mock: respx.MockRouter) -> None:
    fixture = load_complaint_fixture("telecom_double_charge")
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    answers = iter([httpx.Response(429, headers={"Retry-After": "2"}, json={"error": {"message": "slow down"}})])
    scripted = ScriptedLLM(fixture)
    route = mock.post("/chat/completions").mock(side_effect=lambda r: next(answers, None) or scripted(r))
    client = LLMClient(LLMConfig(api_key="sk-test", base_url=BASE, retry_deadline_s=10), sleep=record)
    drafting = DraftingPipeline(client, PlaybookSource(PROMPTS).current)

    result = await drafting.draft(complaint_from_fixture(fixture))
    await client.aclose()

    assert route.call_count == 3, "429, then triage, then draft: the SDK itself retried nothing"
    assert waits == [2.0]
    assert result.text


async def test_500_forever_gives_up_within_bounds_with_a_clear_error(mock: respx.MockRouter) -> None:
    route = mock.post("/chat/completions").mock(return_value=httpx.Response(500, json={"error": {"message": "boom"}}))
    drafting, client = pipeline(deadline=5)

    with pytest.raises(LLMUnavailable) as caught:
        await drafting.draft(Complaint(text="The app lost all my invoices from March."))
    await client.aclose()

    assert 2 <= route.call_count <= 5
    assert "500" in str(caught.value) and "sk-test" not in str(caught.value)


async def test_a_timeout_then_an_answer_still_drafts(mock: respx.MockRouter) -> None:
    fixture = load_complaint_fixture("airline_lost_luggage")
    scripted = ScriptedLLM(fixture)
    calls = {"n": 0}

    def flaky(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            raise httpx.ReadTimeout("slow", request=request)
        return scripted(request)

    mock.post("/chat/completions").mock(side_effect=flaky)
    drafting, client = pipeline()
    result = await drafting.draft(complaint_from_fixture(fixture))
    await client.aclose()
    assert calls["n"] == 3 and result.offers


async def test_a_server_that_ignores_the_schema_gets_one_repair_then_a_clear_error(mock: respx.MockRouter) -> None:
    route = mock.post("/chat/completions").mock(return_value=completion("Sure! Here is a lovely reply for your customer."))
    drafting, client = pipeline()

    with pytest.raises(LLMBadOutput) as caught:
        await drafting.draft(Complaint(text="My package never came."))
    await client.aclose()

    assert route.call_count == 2, "the junk answer, then one repair attempt"
    assert "TriageOutput" in str(caught.value)


async def test_schema_valid_nonsense_is_cleaned_not_trusted(mock: respx.MockRouter) -> None:
    """A small local model: valid JSON, the same offer twice, a condition nobody offered."""
    fixture = load_complaint_fixture("ecommerce_late_gift")
    fixture["llm_draft"]["reply"] = (
        "I am so sorry your gift was late. I will refund it if you have an extra $500. "
        "Thank you for telling us."
    )
    fixture["llm_draft"]["offers"] = [
        {"offer_id": "store_credit", "amount": 20, "why_it_helps": "goodwill"},
        {"offer_id": "store_credit", "amount": 20, "why_it_helps": "goodwill again"},
    ]
    mock.post("/chat/completions").mock(side_effect=ScriptedLLM(fixture))
    drafting, client = pipeline()

    result = await drafting.draft(complaint_from_fixture(fixture))
    await client.aclose()

    assert [o.offer_id for o in result.offers] == ["store_credit"]
    codes = {f.code for f in result.flags}
    assert {"offer_duplicate", "unbacked_amount", "too_few_offers"} <= codes


async def test_regenerate_in_a_warmer_tone_keeps_catalog_offers(mock: respx.MockRouter) -> None:
    fixture = load_complaint_fixture("restaurant_cold_food")
    llm = ScriptedLLM(fixture)
    mock.post("/chat/completions").mock(side_effect=llm)
    drafting, client = pipeline()
    complaint = complaint_from_fixture(fixture)

    first = await drafting.draft(complaint)
    second = await drafting.rewrite(complaint, first, tone="warmer")
    await client.aclose()

    tone_request = llm.requests[-1]
    assert "warmer" in json.dumps(tone_request["messages"][0]).lower()
    assert second.tone == "warmer" and second.triage == first.triage

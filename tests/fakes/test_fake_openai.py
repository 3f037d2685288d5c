"""FakeOpenAI proved with the real openai SDK, served and in-process: schema objects, failures."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam
from openai.types.shared_params import ResponseFormatJSONSchema
from pydantic import BaseModel

from app.domain.models import BriefOutput, DraftOutput, FirstDraftOutput, Step

from .openai_api import FakeOpenAI


def schema_format(model: type[BaseModel]) -> ResponseFormatJSONSchema:
    return {
        "type": "json_schema",
        "json_schema": {
            "name": model.__name__,
            "schema": model.model_json_schema(),
            "strict": True,
        },
    }


def complaint(text: str, *, system: str = "") -> list[ChatCompletionMessageParam]:
    return [
        {"role": "system", "content": f"You sort and answer customer messages. {system}"},
        {"role": "user", "content": f"<customer_message>\n{text}\n</customer_message>"},
    ]


def openai_client(fake: FakeOpenAI, retries: int = 0) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=fake.url, api_key="x", max_retries=retries)


async def test_a_first_draft_is_a_complaint_with_a_short_summary_and_a_reply(
    any_openai: FakeOpenAI,
) -> None:
    text = "My order #1234 was due last Monday and it still has not arrived. " * 3
    async with openai_client(any_openai) as client:
        completion = await client.chat.completions.create(
            model="gpt-test",
            messages=complaint(text),
            response_format=schema_format(FirstDraftOutput),
        )

    first = FirstDraftOutput.model_validate_json(completion.choices[0].message.content or "")
    triage = first.triage
    assert first.reply and {s.step for s in first.steps} == set(Step)
    assert (triage.kind, triage.needs_reply, triage.category) == ("complaint", True, "delivery")
    assert triage.summary == " ".join(text.split())[:80]
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.total_tokens > 0
    assert any_openai.requests[0]["model"] == "gpt-test"


@pytest.mark.parametrize(
    ("system", "replied"),
    [("", True), ("For any other message leave reply and follow_up empty.", False)],
)
async def test_praise_is_not_a_complaint_and_is_answered_only_when_a_reply_is_required(
    any_openai: FakeOpenAI, system: str, replied: bool
) -> None:
    async with openai_client(any_openai) as client:
        completion = await client.chat.completions.create(
            model="m",
            messages=complaint("PRAISE-ONLY you were great", system=system),
            response_format=schema_format(FirstDraftOutput),
        )
    first = FirstDraftOutput.model_validate_json(completion.choices[0].message.content or "")
    assert (first.triage.kind, first.triage.needs_reply) == ("praise", False)
    assert bool(first.reply) is replied and bool(first.steps) is replied


async def test_draft_parses_with_the_sdk_and_quotes_its_own_reply(any_openai: FakeOpenAI) -> None:
    async with openai_client(any_openai) as client:
        completion = await client.chat.completions.parse(
            model="m",
            messages=complaint("Still waiting for my parcel"),
            response_format=DraftOutput,
        )
    draft = completion.choices[0].message.parsed
    assert draft is not None
    assert {s.step for s in draft.steps} == set(Step)
    assert all(s.quote in draft.reply for s in draft.steps)
    assert [(o.offer_id, o.amount) for o in draft.offers] == [
        ("express_reship", None),
        ("store_credit", 20),
    ]
    assert any_openai.requests[0]["response_format"]["json_schema"]["name"] == "DraftOutput"


async def test_json_object_mode_with_a_schema_gets_a_brief(any_openai: FakeOpenAI) -> None:
    # llama-cpp-python's server shape, which the SDK's typed dicts do not know.
    llama_cpp_format: Any = {"type": "json_object", "schema": BriefOutput.model_json_schema()}
    async with openai_client(any_openai) as client:
        completion = await client.chat.completions.create(
            model="m",
            messages=[
                {"role": "user", "content": "Thread: customer asked three times for a refund."}
            ],
            response_format=llama_cpp_format,
        )
    brief = BriefOutput.model_validate_json(completion.choices[0].message.content or "")
    assert brief.issue.startswith("Thread: customer asked")
    assert brief.next_step


async def test_concurrent_requests_overlap_instead_of_queueing(any_openai: FakeOpenAI) -> None:
    any_openai.latency_s = 0.5
    async with openai_client(any_openai) as client:
        started = time.monotonic()
        await asyncio.gather(
            *(
                client.chat.completions.create(
                    model="m",
                    messages=complaint(f"complaint {n}"),
                    response_format=schema_format(FirstDraftOutput),
                )
                for n in range(20)
            )
        )
        elapsed = time.monotonic() - started
    assert elapsed < 1.5
    assert any_openai.max_in_flight == 20 and len(any_openai.requests) == 20


async def test_injected_rate_limit_is_seen_then_retried(any_openai: FakeOpenAI) -> None:
    any_openai.fail_next(429, retry_after=0.05)
    async with openai_client(any_openai) as client:
        with pytest.raises(openai.RateLimitError):
            await client.chat.completions.create(model="m", messages=complaint("x"))
    any_openai.fail_next(503)
    async with openai_client(any_openai, retries=1) as client:
        completion = await client.chat.completions.create(
            model="m", messages=complaint("x"), response_format=schema_format(FirstDraftOutput)
        )
    assert FirstDraftOutput.model_validate_json(completion.choices[0].message.content or "")
    assert len(any_openai.requests) == 3


async def test_a_custom_responder_can_return_broken_output(any_openai: FakeOpenAI) -> None:
    any_openai.responder = lambda request: "not json at all"
    async with openai_client(any_openai) as client:
        completion = await client.chat.completions.create(model="m", messages=complaint("x"))
    assert completion.choices[0].message.content == "not json at all"


async def test_an_outage_ends_on_recover_and_the_requests_are_told_apart_by_schema(
    any_openai: FakeOpenAI,
) -> None:
    any_openai.fail_next(500, times=50)
    async with openai_client(any_openai) as client:
        with pytest.raises(openai.InternalServerError):
            await client.chat.completions.create(
                model="m", messages=complaint("x"), response_format=schema_format(FirstDraftOutput)
            )
        any_openai.recover()
        await client.chat.completions.create(
            model="m", messages=complaint("x"), response_format=schema_format(FirstDraftOutput)
        )
        await client.chat.completions.parse(
            model="m", messages=complaint("x"), response_format=DraftOutput
        )

    assert len(any_openai.requests_for(FirstDraftOutput)) == 2
    assert len(any_openai.requests_for(DraftOutput)) == 1
    assert any_openai.stats()["by_schema"] == {"FirstDraftOutput": 2, "DraftOutput": 1}

"""Stories of structured output: the schema goes out, a validated model comes back.

Every test runs the real openai SDK against respx and checks both what the
server received and what the caller got.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
import respx

from app.domain.models import ChatMessage, DraftOutput, TriageOutput
from app.domain.ports import LLMBadOutput, LLMUnavailable
from app.llm import UsageRecord, strict_json_schema
from tests.factories import DRAFT_OUTPUT, TRIAGE_OUTPUT, MakeClient
from tests.fakes.openai_api import completion_body, error, reply, sent_body

SYSTEM = ChatMessage(role="system", content="You triage customer messages.")
CUSTOMER = ChatMessage(role="user", content="<customer>My parcel is a week late!</customer>")
CONVERSATION = [SYSTEM, CUSTOMER]

JSON_SCHEMA_REJECTED = (
    "Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model."
)


async def test_triage_comes_back_validated_and_the_request_carries_the_strict_schema(
    llm_server: respx.MockRouter, make_client: MakeClient, usage_records: list[UsageRecord]
) -> None:
    route = llm_server.post("/chat/completions").mock(
        return_value=reply(TRIAGE_OUTPUT.model_dump_json(), prompt_tokens=321, completion_tokens=45)
    )
    client = make_client()

    result = await client.complete(CONVERSATION, TriageOutput)

    assert result.value == TRIAGE_OUTPUT
    assert result.usage.prompt_tokens == 321
    assert result.usage.completion_tokens == 45
    assert result.model == "fake-model"
    assert result.latency_ms > 0
    assert route.call_count == 1
    body = sent_body(route.calls[0])
    assert body["model"] == "test-model"
    assert body["messages"] == [m.model_dump() for m in CONVERSATION]
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {
            "name": "TriageOutput",
            "schema": strict_json_schema(TriageOutput),
            "strict": True,
        },
    }
    sent_schema = body["response_format"]["json_schema"]["schema"]
    assert sent_schema["additionalProperties"] is False
    assert set(sent_schema["required"]) == set(TriageOutput.model_fields)
    # Left out when not asked for, so each server keeps its own defaults.
    assert "temperature" not in body
    assert "max_tokens" not in body
    assert route.calls[0].request.headers["authorization"] == "Bearer sk-test"
    assert usage_records == [
        UsageRecord(
            model="fake-model",
            prompt_tokens=321,
            completion_tokens=45,
            latency_ms=usage_records[0].latency_ms,
            ok=True,
        )
    ]


async def test_temperature_max_tokens_and_model_are_sent_when_the_caller_sets_them(
    llm_server: respx.MockRouter, make_client: MakeClient
) -> None:
    route = llm_server.post("/chat/completions").mock(
        return_value=reply(TRIAGE_OUTPUT.model_dump_json(), model="")
    )

    result = await make_client().complete(
        CONVERSATION, TriageOutput, temperature=0.2, max_tokens=400, model="bigger-model"
    )

    body = sent_body(route.calls[0])
    assert (body["temperature"], body["max_tokens"], body["model"]) == (0.2, 400, "bigger-model")
    # The server named no model, so the result names the one asked for.
    assert result.model == "bigger-model"


async def test_a_missing_usage_block_counts_as_zero_tokens(
    llm_server: respx.MockRouter, make_client: MakeClient
) -> None:
    body = completion_body(TRIAGE_OUTPUT.model_dump_json())
    del body["usage"]
    llm_server.post("/chat/completions").mock(return_value=httpx.Response(200, json=body))

    result = await make_client().complete(CONVERSATION, TriageOutput)

    assert result.value == TRIAGE_OUTPUT
    assert result.usage.total_tokens == 0


async def test_json_object_mode_sends_the_schema_both_in_response_format_and_in_the_system_message(
    llm_server: respx.MockRouter, make_client: MakeClient
) -> None:
    route = llm_server.post("/chat/completions").mock(return_value=reply(DRAFT_OUTPUT.model_dump_json()))

    result = await make_client(structured_output="json_object").complete(CONVERSATION, DraftOutput)

    assert result.value == DRAFT_OUTPUT
    body = sent_body(route.calls[0])
    assert body["response_format"] == {
        "type": "json_object",
        "schema": strict_json_schema(DraftOutput),
    }
    system, customer = body["messages"]
    assert system["role"] == "system"
    assert system["content"].startswith(SYSTEM.content)
    assert "Reply with one JSON object that matches this JSON schema: " in system["content"]
    assert json.dumps(strict_json_schema(DraftOutput), separators=(",", ":")) in system["content"]
    # The customer's text stays alone in its user message.
    assert customer == CUSTOMER.model_dump()


async def test_json_object_mode_adds_a_system_message_when_there_is_none(
    llm_server: respx.MockRouter, make_client: MakeClient
) -> None:
    route = llm_server.post("/chat/completions").mock(return_value=reply(DRAFT_OUTPUT.model_dump_json()))

    await make_client(structured_output="json_object").complete([CUSTOMER], DraftOutput)

    roles = [message["role"] for message in sent_body(route.calls[0])["messages"]]
    assert roles == ["system", "user"]


async def test_auto_mode_falls_back_to_json_object_once_and_remembers_it(
    llm_server: respx.MockRouter, make_client: MakeClient, usage_records: list[UsageRecord]
) -> None:
    """A llama.cpp-like server: json_schema is refused, json_object with a schema works."""

    def llama_cpp_like(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content)["response_format"]["type"] == "json_schema":
            return error(400, JSON_SCHEMA_REJECTED)
        return reply(TRIAGE_OUTPUT.model_dump_json())

    route = llm_server.post("/chat/completions").mock(side_effect=llama_cpp_like)
    client = make_client()
    mode_before = client.output_mode

    first = await client.complete(CONVERSATION, TriageOutput)

    assert first.value == TRIAGE_OUTPUT
    assert route.call_count == 2
    refused, accepted = (sent_body(call) for call in route.calls)
    assert refused["response_format"]["type"] == "json_schema"
    assert accepted["response_format"] == {
        "type": "json_object",
        "schema": strict_json_schema(TriageOutput),
    }
    assert "matches this JSON schema" in accepted["messages"][0]["content"]
    assert (mode_before, client.output_mode) == ("json_schema", "json_object")
    assert [record.ok for record in usage_records] == [False, True]

    second = await client.complete(CONVERSATION, TriageOutput)

    assert second.value == TRIAGE_OUTPUT
    assert route.call_count == 3
    assert sent_body(route.calls[2])["response_format"]["type"] == "json_object"


async def test_a_422_about_the_response_format_type_also_triggers_the_fallback(
    llm_server: respx.MockRouter, make_client: MakeClient
) -> None:
    # The shape FastAPI-based servers answer with for a request they cannot parse.
    refusal = httpx.Response(
        422,
        json={
            "detail": [
                {
                    "loc": ["body", "response_format", "type"],
                    "msg": "Input should be 'text' or 'json_object'",
                }
            ]
        },
    )
    route = llm_server.post("/chat/completions").mock(
        side_effect=[refusal, reply(TRIAGE_OUTPUT.model_dump_json())]
    )

    result = await make_client().complete(CONVERSATION, TriageOutput)

    assert result.value == TRIAGE_OUTPUT
    assert route.call_count == 2


async def test_forced_json_schema_mode_does_not_fall_back_and_says_what_to_change(
    llm_server: respx.MockRouter, make_client: MakeClient
) -> None:
    route = llm_server.post("/chat/completions").mock(return_value=error(400, JSON_SCHEMA_REJECTED))

    with pytest.raises(LLMUnavailable) as raised:
        await make_client(structured_output="json_schema").complete(CONVERSATION, TriageOutput)

    assert route.call_count == 1
    assert "400" in str(raised.value)
    assert "set TACTFUL_STRUCTURED_OUTPUT to auto or json_object" in str(raised.value)


async def test_a_400_about_something_else_is_not_mistaken_for_missing_json_schema(
    llm_server: respx.MockRouter, make_client: MakeClient
) -> None:
    route = llm_server.post("/chat/completions").mock(
        return_value=error(400, "Unsupported value: 'temperature' does not support 0.2.")
    )
    client = make_client()

    with pytest.raises(LLMUnavailable, match="temperature"):
        await client.complete(CONVERSATION, TriageOutput, temperature=0.2)

    assert route.call_count == 1
    assert client.output_mode == "json_schema"


async def test_a_junk_reply_is_repaired_once_and_both_calls_are_counted(
    llm_server: respx.MockRouter, make_client: MakeClient
) -> None:
    junk = '{"reply": "Sorry!", "steps": "all of them"}'
    route = llm_server.post("/chat/completions").mock(
        side_effect=[
            reply(junk, prompt_tokens=300, completion_tokens=10),
            reply(DRAFT_OUTPUT.model_dump_json(), prompt_tokens=350, completion_tokens=90),
        ]
    )

    result = await make_client().complete(CONVERSATION, DraftOutput)

    assert result.value == DRAFT_OUTPUT
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (650, 100)
    assert route.call_count == 2
    repair_messages = sent_body(route.calls[1])["messages"]
    assert repair_messages[:2] == [m.model_dump() for m in CONVERSATION]
    assert repair_messages[2] == {"role": "assistant", "content": junk}
    correction = repair_messages[3]
    assert correction["role"] == "user"
    assert correction["content"].startswith("That reply did not match the schema: ")
    assert "steps" in correction["content"]
    assert "offers: Field required" in correction["content"]
    assert correction["content"].endswith("Reply again with only the corrected JSON.")


async def test_junk_twice_is_bad_output_naming_the_schema_and_the_errors(
    llm_server: respx.MockRouter, make_client: MakeClient
) -> None:
    route = llm_server.post("/chat/completions").mock(
        return_value=reply("I would love to help! Let me check with my manager.")
    )

    with pytest.raises(LLMBadOutput) as raised:
        await make_client().complete(CONVERSATION, DraftOutput)

    assert route.call_count == 2
    message = str(raised.value)
    assert message.startswith("the LLM reply did not match DraftOutput even after one repair: ")
    assert "Invalid JSON" in message
    # The model's words stay out of the error; they may quote the customer.
    assert "manager" not in message


async def test_a_reply_cut_off_by_max_tokens_says_so(
    llm_server: respx.MockRouter, make_client: MakeClient
) -> None:
    truncated = reply(DRAFT_OUTPUT.model_dump_json()[:40], finish_reason="length")
    llm_server.post("/chat/completions").mock(return_value=truncated)

    with pytest.raises(LLMBadOutput, match="cut off by max_tokens"):
        await make_client().complete(CONVERSATION, DraftOutput, max_tokens=10)


@pytest.mark.parametrize(
    "wrapped",
    [
        "```json\n{json}\n```",
        "```\n{json}\n```",
        "Here is the triage you asked for:\n```json\n{json}\n```\nAnything else?",
        "Sure! {json}",
    ],
    ids=["json-fence", "bare-fence", "fence-inside-prose", "prose-before-json"],
)
async def test_json_wrapped_in_fences_or_prose_is_read_without_a_repair(
    llm_server: respx.MockRouter, make_client: MakeClient, wrapped: str
) -> None:
    route = llm_server.post("/chat/completions").mock(
        return_value=reply(wrapped.replace("{json}", TRIAGE_OUTPUT.model_dump_json(indent=2)))
    )

    result = await make_client().complete(CONVERSATION, TriageOutput)

    assert result.value == TRIAGE_OUTPUT
    assert route.call_count == 1


def _no_choices() -> httpx.Response:
    body = completion_body(None)
    body["choices"] = []
    return httpx.Response(200, json=body)


@pytest.mark.parametrize(
    ("first_answer", "problem"),
    [
        (_no_choices, "no choices"),
        (lambda: reply(None), "empty"),
        (lambda: reply(None, refusal="I can't help with that."), "refused"),
    ],
    ids=["no-choices", "null-content", "refusal"],
)
async def test_empty_answers_and_refusals_are_bad_output_that_gets_one_repair(
    llm_server: respx.MockRouter,
    make_client: MakeClient,
    first_answer: Callable[[], httpx.Response],
    problem: str,
) -> None:
    route = llm_server.post("/chat/completions").mock(
        side_effect=[first_answer(), reply(TRIAGE_OUTPUT.model_dump_json())]
    )

    result = await make_client().complete(CONVERSATION, TriageOutput)

    assert result.value == TRIAGE_OUTPUT
    assert route.call_count == 2
    correction = sent_body(route.calls[1])["messages"][-1]["content"]
    assert problem in correction


async def test_a_web_page_instead_of_a_completion_points_at_the_base_url(
    llm_server: respx.MockRouter, make_client: MakeClient
) -> None:
    """A base URL that reaches a proxy's login page answers 200 with HTML."""
    page = httpx.Response(200, text="<html>Sign in</html>", headers={"content-type": "text/html"})
    route = llm_server.post("/chat/completions").mock(return_value=page)

    with pytest.raises(LLMBadOutput, match="check OPENAI_BASE_URL"):
        await make_client().complete(CONVERSATION, TriageOutput)

    assert route.call_count == 2

"""Stories of a server that misbehaves: rate limits, outages, timeouts, refused keys.

The retry waits are recorded by ``RecordedSleeps`` instead of slept, so each
test asserts the wait the policy chose and the number of requests respx saw.
"""

from __future__ import annotations

import httpx
import pytest
import respx
from structlog.testing import capture_logs

from app.domain.models import ChatMessage, TriageOutput
from app.domain.ports import LLMUnavailable
from app.llm import LLMClient, LLMConfig, UsageRecord
from tests.factories import TRIAGE_OUTPUT, MakeClient
from tests.fakes.clocks import RecordedSleeps
from tests.fakes.openai_api import BASE_URL, error, reply

CUSTOMER_TEXT = "<customer>Order 1234 never came, call me on 555-0100</customer>"
CONVERSATION = [
    ChatMessage(role="system", content="You triage customer messages."),
    ChatMessage(role="user", content=CUSTOMER_TEXT),
]


async def test_a_rate_limit_with_retry_after_is_waited_out_then_the_call_succeeds(
    llm_server: respx.MockRouter,
    make_client: MakeClient,
    sleeps: RecordedSleeps,
    usage_records: list[UsageRecord],
) -> None:
    route = llm_server.post("/chat/completions").mock(
        side_effect=[
            error(429, "Rate limit reached", **{"Retry-After": "1"}),
            reply(TRIAGE_OUTPUT.model_dump_json(), prompt_tokens=80, completion_tokens=30),
        ]
    )

    result = await make_client().complete(CONVERSATION, TriageOutput)

    assert result.value == TRIAGE_OUTPUT
    assert route.call_count == 2
    assert sleeps.waits == [1.0]
    assert [(r.ok, r.prompt_tokens, r.completion_tokens) for r in usage_records] == [
        (False, 0, 0),
        (True, 80, 30),
    ]
    assert result.usage.total_tokens == 110


async def test_retry_after_ms_is_preferred_for_its_precision(
    llm_server: respx.MockRouter, make_client: MakeClient, sleeps: RecordedSleeps
) -> None:
    llm_server.post("/chat/completions").mock(
        side_effect=[
            error(503, "overloaded", **{"retry-after-ms": "250", "Retry-After": "1"}),
            reply(TRIAGE_OUTPUT.model_dump_json()),
        ]
    )

    await make_client().complete(CONVERSATION, TriageOutput)

    assert sleeps.waits == [0.25]


async def test_a_server_asking_for_ten_minutes_waits_only_the_configured_cap(
    llm_server: respx.MockRouter, make_client: MakeClient, sleeps: RecordedSleeps
) -> None:
    llm_server.post("/chat/completions").mock(
        side_effect=[
            error(429, "slow down", **{"Retry-After": "600"}),
            reply(TRIAGE_OUTPUT.model_dump_json()),
        ]
    )

    await make_client(max_retry_after_s=2.5).complete(CONVERSATION, TriageOutput)

    assert sleeps.waits == [2.5]


async def test_a_server_down_for_good_is_tried_max_attempts_times_with_growing_backoff(
    llm_server: respx.MockRouter, make_client: MakeClient, sleeps: RecordedSleeps
) -> None:
    route = llm_server.post("/chat/completions").mock(return_value=error(500, "internal error"))

    with pytest.raises(LLMUnavailable) as raised:
        await make_client(max_attempts=4).complete(CONVERSATION, TriageOutput)

    assert route.call_count == 4
    # 0.5 s base doubling, plus up to 0.5 s of jitter each time.
    assert len(sleeps.waits) == 3
    for wait, floor in zip(sleeps.waits, [0.5, 1.0, 2.0], strict=True):
        assert floor <= wait <= floor + 0.5
    message = str(raised.value)
    assert message.startswith(f"LLM server at {BASE_URL} returned 500 4 times over ")
    assert message.endswith("; giving up for now")
    assert type(raised.value.__cause__).__name__ == "InternalServerError"


async def test_the_deadline_stops_retrying_before_a_wait_that_would_overrun_it(
    llm_server: respx.MockRouter, make_client: MakeClient, sleeps: RecordedSleeps
) -> None:
    route = llm_server.post("/chat/completions").mock(
        return_value=error(503, "overloaded", **{"Retry-After": "5"})
    )

    with pytest.raises(LLMUnavailable, match="returned 503 once"):
        await make_client(retry_deadline_s=3.0, max_attempts=10).complete(
            CONVERSATION, TriageOutput
        )

    assert route.call_count == 1
    assert sleeps.waits == []


@pytest.mark.parametrize("status", [400, 403, 404, 422])
async def test_client_errors_are_reported_at_once_without_a_retry(
    llm_server: respx.MockRouter, make_client: MakeClient, sleeps: RecordedSleeps, status: int
) -> None:
    route = llm_server.post("/chat/completions").mock(
        return_value=error(status, "This model's maximum context length is 8192 tokens.")
    )

    with pytest.raises(LLMUnavailable) as raised:
        await make_client().complete(CONVERSATION, TriageOutput)

    assert route.call_count == 1
    assert sleeps.waits == []
    assert str(raised.value).startswith(f"{status}: ")


async def test_a_404_points_at_the_model_and_base_url_settings(
    llm_server: respx.MockRouter, make_client: MakeClient
) -> None:
    llm_server.post("/chat/completions").mock(return_value=error(404, "model not found"))

    with pytest.raises(LLMUnavailable) as raised:
        await make_client(model="gpt-nonexistent").complete(CONVERSATION, TriageOutput)

    message = str(raised.value)
    assert "'gpt-nonexistent'" in message
    assert "TACTFUL_MODEL" in message and "OPENAI_BASE_URL" in message


async def test_a_refused_key_says_to_check_openai_api_key_and_never_shows_the_key(
    llm_server: respx.MockRouter, sleeps: RecordedSleeps
) -> None:
    secret = "sk-proj-Very5ecretKeyValue"
    # Some servers echo the key they refuse; none of it may reach our message.
    route = llm_server.post("/chat/completions").mock(
        return_value=error(401, f"Incorrect API key provided: {secret}.")
    )
    config = LLMConfig(api_key=secret, base_url=BASE_URL, model="test-model")

    with capture_logs() as logs:
        async with LLMClient(config, sleep=sleeps) as client:
            with pytest.raises(LLMUnavailable) as raised:
                await client.complete(CONVERSATION, TriageOutput)

    assert route.call_count == 1
    message = str(raised.value)
    assert message.startswith("401: the API key was refused")
    assert "OPENAI_API_KEY" in message
    assert secret not in message
    assert secret not in repr(config)
    assert all(secret not in str(entry) for entry in logs)


@pytest.mark.parametrize(
    "transport_error",
    [
        httpx.ReadTimeout("read timed out"),
        httpx.ConnectTimeout("connect timed out"),
        httpx.ConnectError("connection refused"),
    ],
    ids=["read-timeout", "connect-timeout", "connect-error"],
)
async def test_a_timeout_or_dropped_connection_is_retried_then_succeeds(
    llm_server: respx.MockRouter,
    make_client: MakeClient,
    sleeps: RecordedSleeps,
    transport_error: httpx.TransportError,
) -> None:
    route = llm_server.post("/chat/completions").mock(
        side_effect=[transport_error, reply(TRIAGE_OUTPUT.model_dump_json())]
    )

    result = await make_client().complete(CONVERSATION, TriageOutput)

    assert result.value == TRIAGE_OUTPUT
    assert route.call_count == 2
    assert len(sleeps.waits) == 1
    assert 0.5 <= sleeps.waits[0] <= 1.0


async def test_a_server_that_always_times_out_is_reported_with_the_timeout(
    llm_server: respx.MockRouter, make_client: MakeClient
) -> None:
    route = llm_server.post("/chat/completions").mock(side_effect=httpx.ReadTimeout("slow"))

    with pytest.raises(LLMUnavailable) as raised:
        await make_client(timeout_s=12, max_attempts=3).complete(CONVERSATION, TriageOutput)

    assert route.call_count == 3
    message = str(raised.value)
    assert message.startswith(f"LLM server at {BASE_URL} timed out after 12 s (3 attempts over ")
    assert type(raised.value.__cause__).__name__ == "APITimeoutError"


async def test_an_unreachable_server_is_reported_as_could_not_connect(
    llm_server: respx.MockRouter, make_client: MakeClient
) -> None:
    llm_server.post("/chat/completions").mock(side_effect=httpx.ConnectError("Connection refused"))

    with pytest.raises(LLMUnavailable) as raised:
        await make_client(max_attempts=2).complete(CONVERSATION, TriageOutput)

    message = str(raised.value)
    assert message.startswith(f"could not connect to LLM server at {BASE_URL} (2 attempts over ")
    assert "ConnectError: Connection refused" in message


async def test_retries_are_logged_with_status_and_wait_but_never_the_conversation(
    llm_server: respx.MockRouter, make_client: MakeClient
) -> None:
    llm_server.post("/chat/completions").mock(
        side_effect=[
            error(429, "slow down", **{"Retry-After": "0.5"}),
            reply(TRIAGE_OUTPUT.model_dump_json()),
        ]
    )

    with capture_logs() as logs:
        await make_client().complete(CONVERSATION, TriageOutput)

    retries = [entry for entry in logs if entry["event"] == "llm.retry"]
    assert retries == [
        {
            "event": "llm.retry",
            "log_level": "warning",
            "server": BASE_URL,
            "attempt": 1,
            "error": "RateLimitError",
            "status": 429,
            "wait_s": 0.5,
        }
    ]
    everything_logged = repr(logs)
    assert "555-0100" not in everything_logged
    assert "sk-test" not in everything_logged


async def test_a_failing_usage_hook_does_not_cost_the_draft(
    llm_server: respx.MockRouter, sleeps: RecordedSleeps
) -> None:
    llm_server.post("/chat/completions").mock(return_value=reply(TRIAGE_OUTPUT.model_dump_json()))

    def broken_metrics(record: UsageRecord) -> None:
        raise RuntimeError("metrics backend is down")

    config = LLMConfig(api_key="sk-test", base_url=BASE_URL)
    with capture_logs() as logs:
        async with LLMClient(config, on_usage=broken_metrics, sleep=sleeps) as client:
            result = await client.complete(CONVERSATION, TriageOutput)

    assert result.value == TRIAGE_OUTPUT
    assert [entry["event"] for entry in logs] == ["llm.usage_hook_failed"]


async def test_a_caller_supplied_http_client_is_used_and_left_open(
    llm_server: respx.MockRouter,
) -> None:
    route = llm_server.post("/chat/completions").mock(return_value=reply(TRIAGE_OUTPUT.model_dump_json()))
    async with httpx.AsyncClient(headers={"X-Tenant": "acme"}) as shared:
        client = LLMClient(LLMConfig(api_key="sk-test", base_url=BASE_URL), http_client=shared)
        await client.complete(CONVERSATION, TriageOutput)
        await client.aclose()

        assert not shared.is_closed
        assert route.calls[0].request.headers["x-tenant"] == "acme"


async def test_a_local_server_without_a_key_is_reachable_with_an_empty_key(
    llm_server: respx.MockRouter,
) -> None:
    route = llm_server.post("/chat/completions").mock(return_value=reply(TRIAGE_OUTPUT.model_dump_json()))

    async with LLMClient(LLMConfig(api_key="", base_url=BASE_URL)) as client:
        result = await client.complete(CONVERSATION, TriageOutput)

    assert result.value == TRIAGE_OUTPUT
    assert route.call_count == 1

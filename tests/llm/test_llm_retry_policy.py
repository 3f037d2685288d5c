"""The retry policy and failure wording, checked on their own.

What is retried, how a Retry-After is read (seconds, milliseconds, HTTP
date), how the backoff grows, and that a server's own words lose the key
before they reach an error message.
"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import openai
import pytest
from tenacity import AsyncRetrying, RetryCallState

from app.llm._failures import ExchangeFailure, describe_failure, public_url, rejects_json_schema
from app.llm._retry import WaitRetryAfterOrBackoff, is_retryable, retry_after_seconds

URL = "http://llm.test/v1/chat/completions"


def status_error(status: int, body: object = None, **headers: str) -> openai.APIStatusError:
    request = httpx.Request("POST", URL)
    response = httpx.Response(status, headers=headers, request=request)
    return openai.APIStatusError(f"Error code: {status}", response=response, body=body)


def state_after(attempt_number: int, failure: BaseException) -> RetryCallState:
    state = RetryCallState(retry_object=AsyncRetrying(), fn=None, args=(), kwargs={})
    state.attempt_number = attempt_number
    state.set_exception((type(failure), failure, None))
    return state


@pytest.mark.parametrize(
    ("status", "retried"),
    [
        (400, False),
        (401, False),
        (403, False),
        (404, False),
        (422, False),
        (408, True),
        (409, True),
        (429, True),
        (500, True),
        (502, True),
        (503, True),
        (599, True),
    ],
)
def test_only_statuses_a_later_attempt_can_fix_are_retried(status: int, retried: bool) -> None:
    assert is_retryable(status_error(status)) is retried


def test_timeouts_and_connection_errors_are_retried_and_other_errors_are_not() -> None:
    request = httpx.Request("POST", URL)
    assert is_retryable(openai.APITimeoutError(request=request))
    assert is_retryable(openai.APIConnectionError(request=request))
    assert not is_retryable(ValueError("a bug of ours"))


NOW = datetime(2025, 3, 4, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"Retry-After": "0.01"}, 0.01),
        ({"Retry-After": "0"}, 0.0),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after-ms": "soon", "Retry-After": "3"}, 3.0),
        ({"Retry-After": "Tue, 04 Mar 2025 12:00:20 GMT"}, 20.0),
        ({"Retry-After": "Tue, 04 Mar 2025 11:59:00 GMT"}, 0.0),
        ({"Retry-After": "-5"}, None),
        ({"Retry-After": "whenever"}, None),
        ({"Retry-After": "inf"}, None),
        ({}, None),
    ],
)
def test_retry_after_is_read_as_seconds_milliseconds_or_an_http_date(
    headers: dict[str, str], seconds: float | None
) -> None:
    assert retry_after_seconds(httpx.Headers(headers), now=NOW) == seconds


def test_the_wait_honours_retry_after_up_to_the_cap() -> None:
    wait = WaitRetryAfterOrBackoff(max_retry_after_s=30.0)

    assert wait(state_after(1, status_error(429, **{"Retry-After": "4"}))) == 4.0
    assert wait(state_after(1, status_error(429, **{"Retry-After": "3600"}))) == 30.0


def test_without_a_hint_the_backoff_doubles_from_half_a_second_up_to_eight() -> None:
    no_jitter = WaitRetryAfterOrBackoff(max_retry_after_s=30.0, random_fraction=lambda: 0.0)
    full_jitter = WaitRetryAfterOrBackoff(max_retry_after_s=30.0, random_fraction=lambda: 1.0)
    timeout = openai.APITimeoutError(request=httpx.Request("POST", URL))

    waits = [no_jitter(state_after(n, timeout)) for n in range(1, 8)]

    assert waits == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert full_jitter(state_after(1, status_error(500))) == 1.0
    assert full_jitter(state_after(100, status_error(500))) == 8.0


def failure_of(error: openai.APIError, attempts: int = 1) -> ExchangeFailure:
    return ExchangeFailure(error=error, attempts=attempts, seconds=12.34)


def test_a_server_echoing_the_key_in_a_400_has_it_scrubbed_from_the_message() -> None:
    key = "sk-proj-abcdefghijklmnop"
    error = status_error(400, {"message": f"Bad request from key {key}", "type": "invalid"})

    message = describe_failure(
        failure_of(error), server="http://llm.test/v1", model="m", timeout_s=30, secret=key
    )

    assert message == "400: the LLM server at http://llm.test/v1 rejected the request: " + (
        "Bad request from key ***"
    )


def test_a_key_like_string_is_scrubbed_even_when_it_is_not_our_key() -> None:
    error = status_error(400, {"message": "key sk-other1234567890 is disabled"})

    message = describe_failure(
        failure_of(error), server="http://x", model="m", timeout_s=30, secret="ollama"
    )

    assert "sk-other1234567890" not in message
    assert "sk-oth***" in message


def test_an_outage_message_counts_the_attempts_and_the_time() -> None:
    message = describe_failure(
        failure_of(status_error(502), attempts=5),
        server="http://x",
        model="m",
        timeout_s=30,
        secret="sk-test",
    )

    assert message == "LLM server at http://x returned 502 5 times over 12.3 s; giving up for now"


def test_credentials_and_query_strings_are_dropped_from_the_server_url() -> None:
    assert public_url("https://user:pw@llm.example.com:8443/openai/v1/?api-key=abc") == (
        "https://llm.example.com:8443/openai/v1"
    )


@pytest.mark.parametrize(
    ("error", "rejected"),
    [
        (status_error(400, {"message": "response_format json_schema is unsupported"}), True),
        (status_error(400, {"message": "bad", "param": "response_format"}), True),
        (status_error(422, {"detail": [{"loc": ["body", "response_format", "type"]}]}), True),
        (status_error(400, {"message": "Unsupported value: 'temperature'"}), False),
        (status_error(500, {"message": "json_schema crashed the server"}), False),
    ],
    ids=["says-json-schema", "param", "fastapi-422", "about-temperature", "a-500"],
)
def test_only_a_4xx_about_the_response_format_counts_as_json_schema_rejected(
    error: openai.APIStatusError, rejected: bool
) -> None:
    assert rejects_json_schema(error) is rejected

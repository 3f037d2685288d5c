"""Logs are JSON lines that never carry secrets or customer PII."""

from __future__ import annotations

import json
import logging
import time

import pytest
import structlog
from slack_bolt.middleware.request_verification.async_request_verification import (
    AsyncRequestVerification,
)
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from app.logs import MAX_VALUE_CHARS, configure_logging
from app.settings import SettingsError, load_settings
from app.store.engine import DatabaseURLError, async_url


@pytest.fixture
def logs(capsys: pytest.CaptureFixture[str]) -> pytest.CaptureFixture[str]:
    configure_logging(level="INFO", fmt="json")
    yield capsys
    structlog.reset_defaults()
    logging.getLogger().handlers.clear()


def test_tokens_keys_and_pii_are_scrubbed_from_structlog_and_stdlib_lines(
    logs: pytest.CaptureFixture[str],
) -> None:
    log = structlog.get_logger("tactful.test")
    log.info(
        "posting",
        token="xoxb-123-456-abcdef",
        note="customer jane@example.com paid with 4111 1111 1111 1111, call +44 20 7946 0958",
        headers={"Authorization": "Bearer sk-live-abcdefghijkl"},
    )
    logging.getLogger("slack_sdk").warning(
        "retrying with xapp-1-A0-secret and sk-proj-abcdefghijklmnop"
    )

    err = logs.readouterr().err
    lines = [json.loads(line) for line in err.strip().splitlines()]
    assert len(lines) == 2
    for secret in (
        "xoxb-123",
        "sk-live",
        "xapp-1-A0",
        "sk-proj",
        "jane@example.com",
        "4111 1111",
        "7946 0958",
    ):
        assert secret not in err
    assert lines[0]["event"] == "posting" and lines[0]["level"] == "info"
    assert "[email]" in lines[0]["note"] and "[card]" in lines[0]["note"]


def _lines(err: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in err.strip().splitlines()]


async def test_a_post_with_a_bad_signature_is_logged_without_its_body_and_without_stalling(
    logs: pytest.CaptureFixture[str],
) -> None:
    # The body an attacker controls: 2 MB of what made the old e-mail pattern backtrack
    # (80 KB took 6 s), with a customer's e-mail and card inside.
    text = "a%" * 1_000_000 + " @ jane@example.com 4111 1111 1111 1111"
    body = json.dumps({"type": "event_callback", "event": {"type": "message", "text": text}})
    request = AsyncBoltRequest(
        body=body,
        headers={
            "x-slack-signature": "v0=forged",
            "x-slack-request-timestamp": str(int(time.time())),
        },
    )
    verification = AsyncRequestVerification(signing_secret="0123456789abcdef0123456789abcdef")

    async def next_middleware() -> BoltResponse:
        raise AssertionError("a forged request must not reach the listeners")

    started = time.perf_counter()
    response = await verification.async_process(
        req=request, resp=BoltResponse(status=200), next=next_middleware
    )
    elapsed = time.perf_counter() - started

    err = logs.readouterr().err
    assert response.status == 401
    assert elapsed < 0.5, f"logging the refusal took {elapsed:.2f}s"
    [line] = _lines(err)
    assert "Invalid request signature detected" in str(line["event"])
    assert "not logged" in str(line["event"])
    assert "a%a%" not in err and "jane@" not in err and "4111" not in err
    assert len(err) < 1_000


def test_a_huge_value_is_cut_before_any_pattern_reads_it(logs: pytest.CaptureFixture[str]) -> None:
    log = structlog.get_logger("tactful.test")

    started = time.perf_counter()
    log.info("customer.text", text="a%" * 500_000 + " @", note="call +44 20 7946 0958")
    elapsed = time.perf_counter() - started

    [line] = _lines(logs.readouterr().err)
    assert elapsed < 0.5, f"{elapsed:.2f}s to log one line"
    assert len(str(line["text"])) < MAX_VALUE_CHARS + 50
    assert str(line["text"]).endswith("chars cut]")
    assert line["note"] == "call [phone]"


def test_a_card_number_at_the_cut_is_not_half_shown(logs: pytest.CaptureFixture[str]) -> None:
    text = "x" * (MAX_VALUE_CHARS - 10) + " card 4111 1111 1111 1111 please"

    structlog.get_logger("tactful.test").info("customer.text", text=text)

    err = logs.readouterr().err
    assert "4111" not in err and "1111" not in err


def test_a_field_named_body_or_payload_is_never_written(logs: pytest.CaptureFixture[str]) -> None:
    structlog.get_logger("tactful.test").warning(
        "slack.request", body='{"event": {"text": "hello"}}', payload={"text": "hi"}
    )

    [line] = _lines(logs.readouterr().err)
    assert line["body"] == "[28 chars not logged]" and line["payload"] == "[not logged]"


def test_bolt_logging_a_request_body_from_a_middleware_keeps_the_body_out(
    logs: pytest.CaptureFixture[str],
) -> None:
    logging.getLogger("slack_bolt.AsyncApp").warning(
        "A global middleware (check) skipped calling either `next()` or `next_()` without "
        "providing a response for the request ({'event': {'text': 'my card 4111 1111 1111 1111'}})"
    )

    err = logs.readouterr().err
    assert (
        "for the request ([request body not logged]" in err
        and "event" not in err.split("for the request")[1]
    )


@pytest.mark.parametrize(
    ("written", "secret"),
    [
        ("connecting to postgresql://tactful:S3cr3t-pw@db.internal:5432/tactful", "S3cr3t-pw"),
        ("token rotated: xoxe.xoxp-1-Mi0yLTEyMzQ1Njc4OQ", "Mi0yLTEyMzQ1Njc4OQ"),
        ("xoxb-1234-5678-abcdefABCDEF sent", "abcdefABCDEF"),
        ("app token xapp-1-A0123-456-abcdef", "abcdef"),
        ("OpenAI key sk-proj-AbCdEf0123456789 rejected", "AbCdEf0123456789"),
        ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA"),
        ("retrying with api_key=abcd1234efgh5678", "abcd1234efgh5678"),
        ('config {"password": "hunter2-long"}', "hunter2-long"),
    ],
)
def test_credentials_are_masked_in_every_line(
    logs: pytest.CaptureFixture[str], written: str, secret: str
) -> None:
    logging.getLogger("sqlalchemy.engine").warning(written)
    structlog.get_logger("tactful.test").error("boom", detail=written)

    err = logs.readouterr().err
    assert secret not in err and err.count("[secret]") >= 2


def test_the_configured_secrets_are_masked_whatever_their_shape(
    capsys: pytest.CaptureFixture[str],
) -> None:
    signing_secret = "8f14e45fceea167a5a36dedd4bea2543"
    configure_logging(level="INFO", fmt="json", secrets=[signing_secret, None, "short"])
    try:
        logging.getLogger("slack_bolt").info(f"verifying with {signing_secret}")
        structlog.get_logger("tactful.test").info("check", note=f"secret={signing_secret}")
    finally:
        err = capsys.readouterr().err
        structlog.reset_defaults()
        logging.getLogger().handlers.clear()

    assert signing_secret not in err and "short" not in err.replace("[secret]", "")


def test_a_database_password_is_not_printed_in_start_up_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(DatabaseURLError) as unparsable:
        async_url("postgresql://tactful:S3cr3t-pw@db.internal:port/tactful")
    monkeypatch.setenv("TACTFUL_DATABASE_URL", "mysql://tactful:S3cr3t-pw@db.internal/tactful")
    with pytest.raises(SettingsError) as unsupported:
        load_settings()

    for error in (unparsable.value, unsupported.value):
        shown = (
            str(error)
            + repr(error.__cause__)
            + repr(error.__context__ if not error.__suppress_context__ else None)
        )
        assert "S3cr3t-pw" not in shown, shown
    assert "tactful:***@db.internal" in str(unparsable.value)

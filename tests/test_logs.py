"""Logs are JSON lines that never carry secrets or customer PII."""

from __future__ import annotations

import json
import logging

import pytest
import structlog

from app.logs import configure_logging


@pytest.fixture
def logs(capsys: pytest.CaptureFixture[str]) -> pytest.CaptureFixture[str]:
    configure_logging(level="INFO", fmt="json")
    yield capsys
    structlog.reset_defaults()
    logging.getLogger().handlers.clear()


def test_tokens_keys_and_pii_are_scrubbed_from_structlog_and_stdlib_lines(logs: pytest.CaptureFixture[str]) -> None:
    log = structlog.get_logger("tactful.test")
    log.info(
        "posting",
        token="xoxb-123-456-abcdef",
        note="customer jane@example.com paid with 4111 1111 1111 1111, call +44 20 7946 0958",
        headers={"Authorization": "Bearer sk-live-abcdefghijkl"},
    )
    logging.getLogger("slack_sdk").warning("retrying with xapp-1-A0-secret and sk-proj-abcdefghijklmnop")

    err = logs.readouterr().err
    lines = [json.loads(line) for line in err.strip().splitlines()]
    assert len(lines) == 2
    for secret in ("xoxb-123", "sk-live", "xapp-1-A0", "sk-proj", "jane@example.com", "4111 1111", "7946 0958"):
        assert secret not in err
    assert lines[0]["event"] == "posting" and lines[0]["level"] == "info"
    assert "[email]" in lines[0]["note"] and "[card]" in lines[0]["note"]

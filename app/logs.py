"""Structured logging: JSON lines with request and draft ids, and nothing secret.

Every event passes through ``scrub`` before it is written: Slack tokens, API
keys and the signing secret are masked by shape, and customer emails, card
numbers, phone numbers and IBANs are redacted with the same code that cleans
text before it goes to the LLM.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from app.domain.redact import redact

_SECRET_SHAPES = re.compile(
    r"(xox[abposr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|sk-[A-Za-z0-9_-]{8,}|Bearer\s+\S+)"
)
_SECRET_KEYS = ("token", "secret", "api_key", "password", "authorization")


def scrub_text(text: str) -> str:
    return redact(_SECRET_SHAPES.sub("[secret]", text)).text


def _scrub_value(key: str, value: Any) -> Any:
    if any(word in key.lower() for word in _SECRET_KEYS):
        return "[secret]"
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {k: _scrub_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub_value(key, v) for v in value]
    return value


def scrub(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        event_dict[key] = _scrub_value(key, event_dict[key])
    return event_dict


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is now, so a swapped stream (tests, daemons) keeps working."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _: Any) -> None:
        pass


def configure_logging(*, level: str = "INFO", fmt: str = "json") -> None:
    """Route structlog and stdlib logging (Bolt, slack_sdk, httpx) through one scrubbed pipeline."""
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        scrub,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = _StderrHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=shared,
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # httpx logs every request URL at INFO; that is noise at our volume.
    logging.getLogger("httpx").setLevel(logging.WARNING)

"""Structured logging: JSON lines with request and draft ids, and nothing secret.

Every event, ours or a library's (Bolt, slack_sdk, httpx), passes through
``scrub`` before it is written:

* raw request bodies are never written: Bolt logs a POST whose signature
  fails with its whole body ("Invalid request signature detected (…, body:
  …)"), and a global middleware that does not answer with "… for the
  request ({body})"; those lose the body, and a field named ``body`` /
  ``raw_body`` / ``payload`` is replaced by its length;
* a string is cut to 2,000 characters (a traceback keeps its last 8,000)
  before any pattern reads it, so a 2 MB value costs what a short one does;
* credentials are masked by shape (Slack ``xox…-`` and ``xapp-`` tokens,
  ``sk-`` API keys, Bearer/Basic credentials, ``user:password@`` in URLs,
  ``password=`` / ``token=`` pairs) and by value (the secrets handed to
  ``configure_logging``);
* customer personal data is redacted with ``app.domain.redact``, the same
  code that cleans text before it goes to the LLM.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any

import structlog

from app.domain.redact import redact
from app.domain.secrets import mask_credentials

MAX_VALUE_CHARS = 2000
MAX_TRACEBACK_CHARS = 8000
# A value is scrubbed a little past its cut, so an e-mail or card number that
# straddles the cut is still recognised whole and never shows half of itself.
_SCRUB_MARGIN = 256

_SECRET_KEYS = ("token", "secret", "api_key", "password", "authorization")
_BODY_KEYS = frozenset({"body", "raw_body", "request_body", "payload"})

_SIGNATURE_FAILURE = "Invalid request signature detected"
# Text after these is a request body (Bolt's own messages and its documented examples).
_BODY_MARKERS = ("for the request (", "request body: ", "Request body: ")

_known_secrets: tuple[str, ...] = ()


def _without_request_body(text: str) -> str:
    if text.startswith(_SIGNATURE_FAILURE):
        return f"{_SIGNATURE_FAILURE} (request body of {len(text)} chars not logged)"
    for marker in _BODY_MARKERS:
        at = text.find(marker)
        if at >= 0:
            return f"{text[: at + len(marker)]}[request body not logged]"
    return text


def _mask_secrets(text: str) -> str:
    return mask_credentials(text, known=_known_secrets)


def scrub_text(text: str, *, limit: int = MAX_VALUE_CHARS, keep_tail: bool = False) -> str:
    """``text`` cut to ``limit`` characters, then without secrets or personal data."""
    if len(text) <= limit:
        return redact(_mask_secrets(text)).text
    cut = len(text) - limit
    if keep_tail:
        window = text[-(limit + _SCRUB_MARGIN) :]
        kept = redact(_mask_secrets(window)).text[-limit:]
        return f"[{cut} chars cut]…{kept}"
    window = text[: limit + _SCRUB_MARGIN]
    kept = redact(_mask_secrets(window)).text[:limit]
    return f"{kept}…[{cut} chars cut]"


def _scrub_value(key: str, value: Any) -> Any:
    lowered = key.lower()
    if any(word in lowered for word in _SECRET_KEYS):
        return "[secret]"
    if lowered in _BODY_KEYS and value:
        size = len(value) if isinstance(value, str | bytes) else None
        return f"[{size} chars not logged]" if size is not None else "[not logged]"
    if isinstance(value, str):
        if lowered == "exception":
            return scrub_text(value, limit=MAX_TRACEBACK_CHARS, keep_tail=True)
        return scrub_text(_without_request_body(value))
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


def configure_logging(
    *, level: str = "INFO", fmt: str = "json", secrets: Iterable[str | None] = ()
) -> None:
    """Route structlog and stdlib logging (Bolt, slack_sdk, httpx) through one scrubbed pipeline.

    ``secrets`` are the configured credentials (tokens, signing secret, API
    key, database password): masked wherever they appear, whatever their shape.
    """
    global _known_secrets
    # Short values would mask ordinary words; real credentials are long.
    _known_secrets = tuple(sorted({s for s in secrets if s and len(s) >= 8}, key=len, reverse=True))
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
        # Level first: a dropped event must not pay for timestamps and scrubbing
        # (an info line per complaint was a visible share of a burst's CPU).
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
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

"""Turning an openai error into one line an operator can act on.

Each message says which server, what happened and what to check next, and
never carries the API key: the server's own text is scrubbed of it (some
servers echo a key they refuse) and truncated, and URLs lose any userinfo
or query string that could hold a credential.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import httpx
import openai

# Strings that mean "this server does not take response_format=json_schema".
# A bare "unsupported" is not enough: OpenAI says "Unsupported value:
# 'temperature'" for reasoning models, and falling back on that would drop
# strict output for the life of the client.
_JSON_SCHEMA_REJECTION_HINTS = (
    "response_format",
    "response format",
    "json_schema",
    "json schema",
    "structured output",
)
_KEY_LIKE = re.compile(r"\b(sk-[A-Za-z0-9_*-]{3})[A-Za-z0-9_*-]{5,}")
_SERVER_TEXT_LIMIT = 200


@dataclass(frozen=True)
class ExchangeFailure:
    """How one exchange with the server ended, after the retry policy gave up."""

    error: openai.APIError
    attempts: int
    seconds: float


def public_url(url: str) -> str:
    """``url`` without user, password or query string, and without a trailing slash."""
    parsed = httpx.URL(url)
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}{parsed.path}".rstrip("/")


def redact(text: str, secret: str) -> str:
    # Keys shorter than this ("ollama", "x") are not secrets, and replacing
    # them would garble ordinary words in the message.
    if len(secret) >= 6:
        text = text.replace(secret, "***")
    return _KEY_LIKE.sub(r"\1***", text)


def server_text(error: openai.APIStatusError, *, secret: str) -> str:
    """What the server said about the error, short and without the key."""
    body = error.body
    text: str | None = None
    if isinstance(body, dict):
        # OpenAI style {"error": {"message": ...}} arrives already unwrapped
        # by the SDK; FastAPI servers (llama-cpp-python) answer {"detail": ...}.
        for key in ("message", "detail", "error"):
            if key in body:
                value = body[key]
                text = value if isinstance(value, str) else json.dumps(value, default=str)
                break
    if text is None:
        text = error.message
    text = " ".join(redact(text, secret).split())
    if len(text) > _SERVER_TEXT_LIMIT:
        text = text[: _SERVER_TEXT_LIMIT - 3] + "..."
    return text


def rejects_json_schema(error: openai.APIError) -> bool:
    """Whether a 400/422 says the server cannot do ``response_format=json_schema``."""
    if not isinstance(error, openai.APIStatusError) or error.status_code not in (400, 422):
        return False
    if error.param == "response_format":
        return True
    text = f"{error.message} {json.dumps(error.body, default=str)}".lower()
    return any(hint in text for hint in _JSON_SCHEMA_REJECTION_HINTS)


def describe_failure(
    failure: ExchangeFailure,
    *,
    server: str,
    model: str,
    timeout_s: float,
    secret: str,
) -> str:
    """One line saying what went wrong with the LLM server and what to check."""
    error = failure.error
    over = _attempts_over(failure)
    if isinstance(error, openai.APITimeoutError):
        return f"LLM server at {server} timed out after {timeout_s:g} s {over}; giving up for now"
    if isinstance(error, openai.APIConnectionError):
        cause = error.__cause__
        reason = f": {redact(f'{type(cause).__name__}: {cause}', secret)}" if cause else ""
        return f"could not connect to LLM server at {server} {over}{reason}; giving up for now"
    if not isinstance(error, openai.APIStatusError):
        return f"LLM server at {server} failed: {redact(str(error), secret)}"

    status = error.status_code
    if status == 401:
        return f"401: the API key was refused by the LLM server at {server}; check OPENAI_API_KEY"
    if status == 403:
        return (
            f"403: the LLM server at {server} refused access to model {model!r}; "
            "check that OPENAI_API_KEY may use it"
        )
    if status == 404:
        return (
            f"404: model {model!r} or the chat completions endpoint was not found at {server}; "
            "check TACTFUL_MODEL and OPENAI_BASE_URL"
        )
    if status == 429 or status >= 500 or status in (408, 409):
        times = "once" if failure.attempts == 1 else f"{failure.attempts} times"
        rate_limited = " (rate limited)" if status == 429 else ""
        return (
            f"LLM server at {server} returned {status}{rate_limited} {times} over "
            f"{failure.seconds:.1f} s; giving up for now"
        )
    message = (
        f"{status}: the LLM server at {server} rejected the request: "
        f"{server_text(error, secret=secret)}"
    )
    if rejects_json_schema(error):
        message += (
            "; this server may not support json_schema output, "
            "set TACTFUL_STRUCTURED_OUTPUT to auto or json_object"
        )
    return message


def _attempts_over(failure: ExchangeFailure) -> str:
    if failure.attempts == 1:
        return "(1 attempt)"
    return f"({failure.attempts} attempts over {failure.seconds:.1f} s)"

"""What the LLM client is told (``LLMConfig``) and what it tells metrics (``UsageRecord``).

Both are frozen dataclasses so settings can build one at start-up and hand
it around without anyone changing a timeout behind the client's back.  The
API key is a plain ``str`` here: settings keep it as ``SecretStr`` and
unwrap it only when the client is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

StructuredOutputMode = Literal["auto", "json_schema", "json_object"]


@dataclass(frozen=True)
class LLMConfig:
    """How to reach one OpenAI-compatible server and how patient to be with it."""

    # repr=False: a config printed in a traceback or a log must not show the key.
    api_key: str = field(repr=False)
    # Any OpenAI-compatible server: OpenAI, Azure (/openai/v1/), Ollama, vLLM, llama.cpp.
    base_url: str | None = None
    model: str = "gpt-4o-mini"
    timeout_s: float = 30.0
    # Budget for one exchange with the server, retries and their waits included.
    retry_deadline_s: float = 60.0
    max_attempts: int = 5
    structured_output: StructuredOutputMode = "auto"
    # A server asking for a 10-minute pause gets at most this long.
    max_retry_after_s: float = 30.0

    def __post_init__(self) -> None:
        # Fail at start-up, not on the first complaint of the day.
        if self.timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {self.timeout_s}")
        if self.retry_deadline_s <= 0:
            raise ValueError(f"retry_deadline_s must be positive, got {self.retry_deadline_s}")
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if self.max_retry_after_s < 0:
            raise ValueError(
                f"max_retry_after_s must not be negative, got {self.max_retry_after_s}"
            )
        if self.structured_output not in ("auto", "json_schema", "json_object"):
            raise ValueError(
                "structured_output must be 'auto', 'json_schema' or 'json_object', "
                f"got {self.structured_output!r}"
            )
        if not self.model:
            raise ValueError("model must not be empty")


@dataclass(frozen=True)
class UsageRecord:
    """One HTTP call to the server, as metrics count it.

    ``ok`` is True when the server answered with a completion (2xx), even if
    that completion later fails schema validation; a failed or retried call
    is recorded with ``ok=False`` and zero tokens.
    """

    model: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    ok: bool

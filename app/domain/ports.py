"""What the domain needs from the outside world, as protocols.

The drafting pipeline is handed an object that satisfies ``StructuredLLM``;
in production that is ``app.llm.LLMClient`` (OpenAI SDK underneath), in tests
it can be anything that speaks the same shape.  Keeping the port here is what
lets ``app.domain`` import nothing from ``openai``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from pydantic import BaseModel

from app.domain.models import ChatMessage, TokenUsage

T = TypeVar("T", bound=BaseModel)


@dataclass(frozen=True)
class LLMResult(Generic[T]):
    value: T
    usage: TokenUsage = field(default_factory=TokenUsage)
    model: str = ""
    latency_ms: float = 0.0


class StructuredLLM(Protocol):
    async def complete(
        self,
        messages: list[ChatMessage],
        schema: type[T],
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        model: str | None = None,
    ) -> LLMResult[T]:
        """Send ``messages`` and return the reply parsed and validated as ``schema``."""
        ...


class LLMError(Exception):
    """Base of every failure the LLM layer reports to the domain."""


class LLMUnavailable(LLMError):
    """The server could not be reached or kept failing; the work can be retried later."""


class LLMBadOutput(LLMError):
    """The server answered, but not with what the schema asks, even after one repair."""

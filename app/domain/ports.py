"""What the domain needs from the outside world, as protocols.

The drafting pipeline is handed an object that satisfies ``StructuredLLM``;
in production that is ``app.llm.LLMClient`` (OpenAI SDK underneath), in tests
it can be anything that speaks the same shape.  Keeping the port here is what
lets ``app.domain`` import nothing from ``openai``.  Likewise the pipelines
read the files managers edit through ``PlaybookView``, which
``app.playbook.Playbook`` satisfies, so ``app.domain`` never imports
``app.playbook``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from pydantic import BaseModel

from app.domain.guardrails import GuardrailPolicy
from app.domain.models import ChatMessage, TokenUsage
from app.domain.offers import OfferCatalog

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


@dataclass(frozen=True)
class ModelParams:
    """Sampling settings a prompt file asks for; ``None`` leaves the client's default."""

    temperature: float | None = None
    max_tokens: int | None = None
    model: str | None = None


@dataclass(frozen=True)
class RenderedPrompt:
    """A prompt ready to send: chat messages, customer text only ever in user ones."""

    messages: list[ChatMessage]
    params: ModelParams


class PlaybookView(Protocol):
    """What the pipelines read from one consistent set of files managers edit."""

    @property
    def version(self) -> str:
        """Content hash of the files; each draft records it."""
        ...

    @property
    def name(self) -> str:
        """Which playbook (``prompts/playbooks.yaml``); each draft records it."""
        ...

    @property
    def default_tone(self) -> str | None:
        """The tone of a draft no one asked a tone for."""
        ...

    @property
    def sign_off_name(self) -> str | None:
        """The name a reply is signed with, when the playbook sets one."""
        ...

    @property
    def catalog(self) -> OfferCatalog: ...

    @property
    def policy(self) -> GuardrailPolicy: ...

    def render(
        self, name: str, *, system: Mapping[str, object], user: Mapping[str, object]
    ) -> RenderedPrompt:
        """Prompt ``name`` as messages plus its model settings.

        The file is split on its role markers before any rendering, and
        ``user`` values (customer text) only ever land in user messages.
        The playbook's brand voice is filled in when ``system`` leaves it out.
        """
        ...


class PlaybookFor(Protocol):
    """The playbook serving a channel; no channel (or an unmapped one) gets the default."""

    def __call__(self, channel_id: str | None = None) -> PlaybookView: ...


class LLMError(Exception):
    """Base of every failure the LLM layer reports to the domain."""


class LLMUnavailable(LLMError):
    """The server could not be reached or kept failing; the work can be retried later."""


class LLMBadOutput(LLMError):
    """The server answered, but not with what the schema asks, even after one repair."""

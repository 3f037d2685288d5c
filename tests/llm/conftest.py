"""Fixtures: a fake OpenAI-compatible server and clients wired to it.

``llm_server`` intercepts every request the real openai SDK sends to
``http://llm.test/v1``; tests queue replies on
``llm_server.post("/chat/completions")`` and count what it received.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import respx

from app.llm import LLMClient, LLMConfig, UsageRecord

from .openai_fake import API_KEY, BASE_URL, MakeClient, RecordedSleeps


@pytest.fixture
def llm_server() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        yield router


@pytest.fixture
def sleeps() -> RecordedSleeps:
    return RecordedSleeps()


@pytest.fixture
def usage_records() -> list[UsageRecord]:
    return []


@pytest.fixture
async def make_client(
    sleeps: RecordedSleeps, usage_records: list[UsageRecord]
) -> AsyncIterator[MakeClient]:
    """Build clients against the fake server; config fields can be overridden per test."""
    clients: list[LLMClient] = []

    def build(**overrides: Any) -> LLMClient:
        fields: dict[str, Any] = {
            "api_key": API_KEY,
            "base_url": BASE_URL,
            "model": "test-model",
            "retry_deadline_s": 30.0,
            "max_attempts": 4,
        }
        fields.update(overrides)
        client = LLMClient(LLMConfig(**fields), on_usage=usage_records.append, sleep=sleeps)
        clients.append(client)
        return client

    yield build
    for client in clients:
        await client.aclose()

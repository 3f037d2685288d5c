"""``LLMClient`` over real HTTP, through the SDK's aiohttp transport it sends with.

The respx tests route at the httpx client and never reach a socket; these
serve ``FakeOpenAI`` on 127.0.0.1 so the transport's own behaviour is what is
tested: concurrent requests overlap, and its timeouts, refused connections and
rate limits reach the caller as the same ``LLMUnavailable`` messages and
retries.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.domain.models import ChatMessage, TriageOutput
from app.domain.ports import LLMUnavailable
from app.llm import LLMClient, LLMConfig
from app.llm._transport import LLMTransport
from tests.factories import TRIAGE_OUTPUT
from tests.fakes.clocks import RecordedSleeps
from tests.fakes.openai_api import API_KEY, FakeOpenAI

CONVERSATION = [
    ChatMessage(role="system", content="You triage customer messages."),
    ChatMessage(role="user", content="<customer>My order never came.</customer>"),
]


def triage_answer(body: dict[str, Any]) -> str:
    return TRIAGE_OUTPUT.model_dump_json()


@pytest.fixture
async def served() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI(responder=triage_answer) as fake:
        yield fake


@pytest.fixture
async def client_for(sleeps: RecordedSleeps) -> AsyncIterator[Any]:
    clients: list[LLMClient] = []

    def build(base_url: str, **overrides: Any) -> LLMClient:
        config = LLMConfig(api_key=API_KEY, base_url=base_url, model="m", **overrides)
        client = LLMClient(config, sleep=sleeps)
        clients.append(client)
        return client

    yield build
    for client in clients:
        await client.aclose()


async def test_a_completion_arrives_through_the_aiohttp_transport(
    served: FakeOpenAI, client_for: Any
) -> None:
    client: LLMClient = client_for(served.url)

    result = await client.complete(CONVERSATION, TriageOutput)

    assert result.value == TRIAGE_OUTPUT
    assert result.usage.prompt_tokens == served.usage[0]
    assert served.requests[0]["messages"][1]["content"] == CONVERSATION[1].content
    assert isinstance(client._openai._client._transport, LLMTransport)


async def test_a_burst_of_completions_overlaps_instead_of_queueing(
    served: FakeOpenAI, client_for: Any
) -> None:
    served.latency_s = 0.3
    client: LLMClient = client_for(served.url)

    results = await asyncio.gather(
        *(client.complete(CONVERSATION, TriageOutput) for _ in range(60))
    )

    assert [r.value for r in results] == [TRIAGE_OUTPUT] * 60
    assert served.max_in_flight == 60


async def test_a_server_slower_than_the_timeout_is_retried_then_reported(
    served: FakeOpenAI, client_for: Any, sleeps: RecordedSleeps
) -> None:
    served.latency_s = 2.0
    client: LLMClient = client_for(served.url, timeout_s=0.2, max_attempts=2)

    with pytest.raises(LLMUnavailable) as raised:
        await client.complete(CONVERSATION, TriageOutput)

    assert str(raised.value).startswith(f"LLM server at {served.url} timed out after 0.2 s")
    assert type(raised.value.__cause__).__name__ == "APITimeoutError"
    assert len(served.requests) == 2
    assert len(sleeps.waits) == 1


async def test_a_refused_connection_is_reported_as_could_not_connect(client_for: Any) -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{free.getsockname()[1]}/v1"
    client: LLMClient = client_for(url, max_attempts=2)

    with pytest.raises(LLMUnavailable) as raised:
        await client.complete(CONVERSATION, TriageOutput)

    assert str(raised.value).startswith(f"could not connect to LLM server at {url} (2 attempts")


async def test_a_rate_limit_is_waited_out_then_the_call_succeeds(
    served: FakeOpenAI, client_for: Any, sleeps: RecordedSleeps
) -> None:
    served.fail_next(429, retry_after=1.5)
    client: LLMClient = client_for(served.url)

    result = await client.complete(CONVERSATION, TriageOutput)

    assert result.value == TRIAGE_OUTPUT
    assert len(served.requests) == 2
    assert sleeps.waits == [1.5]

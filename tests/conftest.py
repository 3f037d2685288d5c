"""Fixtures several test folders share: the fake OpenAI, the fake Slack, the databases, LLM clients.

* ``fake_openai``: ``FakeOpenAI`` in-process, answering the openai SDK at
  ``BASE_URL`` through respx (for code that runs in the test's own loop);
* ``llm``: the same fake served on 127.0.0.1 (for a running bot);
* ``slack``: a started ``FakeSlack`` with an empty workspace;
* ``make_client``: ``LLMClient`` instances aimed at ``BASE_URL`` whose retry
  waits are recorded in ``sleeps`` and whose usage lands in ``usage_records``;
* ``database_url``: a SQLite file; ``fresh_postgres_url``: an empty
  PostgreSQL database (skipped without a server, except under ``CI``).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.llm import LLMClient, LLMConfig, UsageRecord
from tests.factories import MakeClient
from tests.fakes.clocks import RecordedSleeps
from tests.fakes.openai_api import API_KEY, BASE_URL, FakeOpenAI
from tests.fakes.scratch_postgres import PostgresServer, find_test_server
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_rate_limits import SlackRateLimits
from tests.fakes.virtual_time import VirtualTime


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI()
    with fake.mock():
        yield fake


@pytest.fixture
async def llm() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


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
    """Build clients against ``BASE_URL``; any LLMConfig field can be overridden per test."""
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


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'tactful.db'}"


@pytest.fixture(scope="session")
def postgres_server() -> PostgresServer:
    """The local test server; without one the test is skipped, but fails when ``CI`` is set."""
    server, why = asyncio.run(find_test_server())
    if server is None:
        message = f"PostgreSQL is not reachable ({why})"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI must run these tests", pytrace=False)
        pytest.skip(message)
    return server


@pytest.fixture
async def fresh_postgres_url(postgres_server: PostgresServer) -> AsyncIterator[str]:
    """An empty database (no tables at all), dropped after the test."""
    name = await postgres_server.create_database()
    try:
        yield postgres_server.url(name)
    finally:
        await postgres_server.drop_database(name)


@pytest.fixture
def time() -> VirtualTime:
    """A clock the rate limiter and the pacer share, moved by sleeping on it."""
    return VirtualTime()


@pytest.fixture
async def limited(time: VirtualTime) -> AsyncIterator[FakeSlack]:
    """A fake Slack that answers 429 the way Slack does, on the virtual clock."""
    async with FakeSlack(rate_limits=SlackRateLimits(clock=time)) as fake:
        yield fake

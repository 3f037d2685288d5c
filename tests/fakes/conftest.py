"""Fixtures for the tests of the fakes: a slack_sdk client on the shared FakeSlack, and
FakeOpenAI reached both ways (served over HTTP, and in-process through respx)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from .openai_api import FakeOpenAI
from .slack_api import FakeSlack


@pytest.fixture
def client(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token="xoxb-test", base_url=slack.url)


@pytest.fixture(params=["served", "in-process"])
async def any_openai(request: pytest.FixtureRequest) -> AsyncIterator[FakeOpenAI]:
    """The one fake OpenAI, once over real HTTP and once through respx."""
    fake = FakeOpenAI()
    if request.param == "served":
        async with fake:
            yield fake
    else:
        with fake.mock():
            yield fake

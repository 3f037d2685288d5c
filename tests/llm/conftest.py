"""The fake OpenAI in-process, with a route each story scripts answer by answer.

``llm_server`` is the respx router of a ``FakeOpenAI`` at ``BASE_URL``: a test
replaces the answers of ``llm_server.post("/chat/completions")`` with
``reply(...)`` / ``error(...)`` and counts what the route received.  The
clients come from ``make_client`` (``tests/conftest.py``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import respx

from tests.fakes.openai_api import FakeOpenAI


@pytest.fixture
def llm_server() -> Iterator[respx.MockRouter]:
    with FakeOpenAI().mock() as router:
        yield router

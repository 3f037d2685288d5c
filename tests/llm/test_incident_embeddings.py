"""``LLMClient.embed``: vectors from the server's embeddings endpoint, under the one retry policy."""

from __future__ import annotations

import pytest

from app.domain.ports import LLMUnavailable
from app.usecases.incidents import ServerEmbedder
from tests.factories import MakeClient
from tests.fakes.clocks import RecordedSleeps
from tests.fakes.openai_api import FakeOpenAI, fake_embedding


async def test_vectors_come_back_in_the_order_of_the_texts(
    fake_openai: FakeOpenAI, make_client: MakeClient
) -> None:
    texts = ["My parcel is stuck at the north depot.", "I was charged twice this month."]
    vectors = await make_client().embed(texts, model="fake-embed")
    assert vectors == [fake_embedding(t) for t in texts]
    [request] = fake_openai.embedding_requests
    assert (request["model"], request["input"]) == ("fake-embed", texts)


async def test_a_rate_limit_is_waited_out_then_the_vectors_arrive(
    fake_openai: FakeOpenAI, make_client: MakeClient, sleeps: RecordedSleeps
) -> None:
    fake_openai.fail_next(429, retry_after=2)
    embedder = ServerEmbedder(make_client(), "fake-embed")
    assert embedder.source == "fake-embed"
    [vector] = await embedder.embed(["Double charge on my card."])
    assert vector == fake_embedding("Double charge on my card.")
    assert sleeps.waits == [2.0]
    assert len(fake_openai.embedding_requests) == 2


async def test_a_refusal_is_reported_at_once_as_unavailable(
    fake_openai: FakeOpenAI, make_client: MakeClient, sleeps: RecordedSleeps
) -> None:
    fake_openai.fail_next(404)
    with pytest.raises(LLMUnavailable) as caught:
        await make_client().embed(["anything"], model="no-such-model")
    assert "no-such-model" in str(caught.value)
    assert sleeps.waits == [] and len(fake_openai.embedding_requests) == 1

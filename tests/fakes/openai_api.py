"""``FakeOpenAI``: the one fake OpenAI chat completions API of the tests and the benchmarks.

One behaviour, reached two ways:

* in-process, for the openai SDK in the test's own loop: ``with fake.mock():``
  routes ``BASE_URL`` through respx (and ``fake.handle`` serves as an
  ``httpx.MockTransport`` handler);
* over real HTTP, for a bot in another task or process: ``async with fake:``
  serves it on 127.0.0.1, as does ``python -m tests.fakes.openai_api``.

Either way it keeps every request body (``requests``), waits ``latency_s`` with
``asyncio.sleep`` (so hundreds of concurrent requests overlap instead of
queueing), and answers a full ``chat.completion`` whose content comes from
``responder`` (by default ``openai_replies.default_reply``).  ``fail_next``
makes the next requests fail with an HTTP status, OpenAI style.

``reply`` and ``error`` build single answers of the same shapes, for tests
that script a respx route answer by answer.  ``GET /_fake/stats`` tells a
benchmark how many requests came, of which schema, and how many overlapped.

Standalone::

    python -m tests.fakes.openai_api --port 0 --latency 2 --print-url
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import itertools
import json
import math
import re
import time
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import respx
from aiohttp import web
from pydantic import BaseModel

from .http_server import LocalServer, run_standalone
from .openai_replies import (
    BRIEF,
    BRIEF_PART,
    DRAFT,
    FIRST_DRAFT,
    Responder,
    customer_text,
    default_reply,
    draft_reply,
    first_draft_reply,
    fixture_reply,
    reply_required,
    schema_name,
    triage_reply,
)

__all__ = [
    "API_KEY",
    "BASE_URL",
    "BRIEF",
    "BRIEF_PART",
    "DRAFT",
    "FIRST_DRAFT",
    "Answer",
    "FakeOpenAI",
    "Responder",
    "completion_body",
    "customer_text",
    "default_reply",
    "draft_reply",
    "error",
    "fake_embedding",
    "first_draft_reply",
    "fixture_reply",
    "openai_error",
    "reply",
    "reply_required",
    "schema_name",
    "sent_body",
    "triage_reply",
]

# Where in-process clients point; respx answers for it, nothing leaves the machine.
BASE_URL = "http://llm.test/v1"
API_KEY = "sk-test"

_ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("authentication_error", "invalid_api_key"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
}


def completion_body(
    content: str | None,
    *,
    prompt_tokens: int = 120,
    completion_tokens: int = 60,
    model: str = "fake-model",
    finish_reason: str = "stop",
    refusal: str | None = None,
    completion_id: str = "chatcmpl-fake000001",
) -> dict[str, Any]:
    """A ``chat.completion`` as OpenAI returns it, with one choice carrying ``content``."""
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fp_fake",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": refusal},
                "logprobs": None,
                "finish_reason": finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def openai_error(status: int, message: str) -> dict[str, Any]:
    kind, code = _ERROR_TYPES.get(status, ("server_error", None))
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def reply(content: str | None, **fields: Any) -> httpx.Response:
    """One successful answer for a scripted respx route (``fields`` as for ``completion_body``)."""
    return httpx.Response(200, json=completion_body(content, **fields))


def error(status: int, message: str = "boom", **headers: str) -> httpx.Response:
    """One failed answer for a scripted respx route, e.g. ``error(429, **{"Retry-After": "1"})``."""
    return httpx.Response(status, json=openai_error(status, message), headers=headers)


def sent_body(call: Any) -> dict[str, Any]:
    """The JSON body of one request a respx route recorded."""
    body: dict[str, Any] = json.loads(call.request.content)
    return body


EMBEDDING_DIMS = 1024
_EMBED_WORD = re.compile(r"[a-z]{4,}")
_EMBED_STOP = frozenset(
    ["this", "that", "with", "have", "since", "from", "your", "what", "been", "they", "them", "there", "when", "where", "were", "will", "would", "about", "after", "says", "still", "just", "does", "didn", "into", "only", "very", "please"]
)


def fake_embedding(text: str) -> list[float]:
    """A unit vector of hashed five-letter word prefixes: "delivered" and "delivery" agree."""
    vector = [0.0] * EMBEDDING_DIMS
    for word in _EMBED_WORD.findall(text.lower()):
        if word in _EMBED_STOP:
            continue
        digest = hashlib.sha256(word[:5].encode()).digest()
        vector[int.from_bytes(digest[:4], "big") % EMBEDDING_DIMS] += 1.0
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


@dataclass(frozen=True)
class Answer:
    """What the fake answers one request, whatever the transport."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Failure:
    status: int
    retry_after: float | None


class FakeOpenAI(LocalServer):
    """An OpenAI-compatible chat completions endpoint, in-process (respx) or on 127.0.0.1."""

    def __init__(
        self,
        *,
        latency_s: float = 0.0,
        responder: Responder | None = None,
        model: str = "fake-model",
        usage: tuple[int, int] = (120, 60),
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        self.latency_s = latency_s
        self.responder: Responder = responder or default_reply
        self.model = model
        self.usage = usage  # (prompt, completion) tokens reported for every answer
        self.requests: list[dict[str, Any]] = []
        self.in_flight = 0
        self.max_in_flight = 0  # proof for the bench that requests overlapped
        self._failures: deque[_Failure] = deque()
        self._ids = itertools.count(1)
        self._mocked_url: str | None = None
        # While mocked: the respx router, for a test that scripts one route itself.
        self.router: respx.MockRouter | None = None
        # POST /embeddings: every request body, and how long each one takes.
        self.embedding_requests: list[dict[str, Any]] = []
        self.embed_latency_s = 0.0

    @property
    def url(self) -> str:
        """What ``OPENAI_BASE_URL`` should be: the server's once started, else the mocked one."""
        if self._mocked_url is not None and self._port is None:
            return self._mocked_url
        return f"{self.base_url}/v1"

    # --- behaviour -------------------------------------------------------------

    def fail_next(self, status: int, *, times: int = 1, retry_after: float | None = None) -> None:
        """The next ``times`` requests answer ``status`` (with Retry-After when given)."""
        for _ in range(times):
            self._failures.append(_Failure(status, retry_after))

    def recover(self) -> None:
        """End an outage begun with ``fail_next(..., times=many)``: unused failures are dropped."""
        self._failures.clear()

    def requests_for(self, schema: type[BaseModel]) -> list[dict[str, Any]]:
        """The request bodies that asked for ``schema`` (FirstDraftOutput, DraftOutput, ...)."""
        return [r for r in self.requests if schema_name(r) == schema.__name__]

    def stats(self) -> dict[str, Any]:
        kinds = Counter(schema_name(r) or "unknown" for r in self.requests)
        return {
            "requests": len(self.requests),
            "max_in_flight": self.max_in_flight,
            "in_flight": self.in_flight,
            "by_schema": dict(kinds),
        }

    async def respond(self, body: Any) -> Answer:
        """The whole life of one request: check, record, wait, answer."""
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return Answer(400, openai_error(400, "'messages' is a required property"))
        self.requests.append(body)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await self.hold(body)
            return self.answer(body)
        finally:
            self.in_flight -= 1

    async def hold(self, body: dict[str, Any]) -> None:
        """The model's thinking time; a subclass may hold chosen requests longer."""
        if self.latency_s > 0:
            await asyncio.sleep(self.latency_s)

    def answer(self, body: dict[str, Any]) -> Answer:
        if self._failures:
            failure = self._failures.popleft()
            headers = (
                {} if failure.retry_after is None else {"Retry-After": f"{failure.retry_after:g}"}
            )
            message = f"Injected failure: HTTP {failure.status}."
            return Answer(failure.status, openai_error(failure.status, message), headers)
        if body.get("stream"):
            return Answer(400, openai_error(400, "The fake does not stream."))
        content = self.responder(body)
        text = content if isinstance(content, str) else json.dumps(content)
        prompt, completion = self.usage
        return Answer(
            200,
            completion_body(
                text,
                prompt_tokens=prompt,
                completion_tokens=completion,
                model=str(body.get("model") or self.model),
                completion_id=f"chatcmpl-fake{next(self._ids):06d}",
            ),
        )

    async def embeddings(self, body: Any) -> Answer:
        """Deterministic vectors (``fake_embedding``): paraphrases sharing words are close."""
        texts = body.get("input") if isinstance(body, dict) else None
        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            return Answer(400, openai_error(400, "'input' must be a string or a list of strings"))
        self.embedding_requests.append(body)
        if self.embed_latency_s > 0:
            await asyncio.sleep(self.embed_latency_s)
        if self._failures:
            failure = self._failures.popleft()
            headers = (
                {} if failure.retry_after is None else {"Retry-After": f"{failure.retry_after:g}"}
            )
            return Answer(failure.status, openai_error(failure.status, "Injected failure."), headers)
        data = [
            {"object": "embedding", "index": i, "embedding": fake_embedding(text)}
            for i, text in enumerate(texts)
        ]
        usage = {"prompt_tokens": sum(len(t.split()) for t in texts), "total_tokens": 0}
        return Answer(200, {"object": "list", "data": data, "model": str(body.get("model")),
                            "usage": usage})

    def models(self) -> dict[str, Any]:
        model = {"id": self.model, "object": "model", "created": 1_700_000_000, "owned_by": "fake"}
        return {"object": "list", "data": [model]}

    # --- in-process: httpx / respx ---------------------------------------------

    async def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one httpx request: a respx side effect or an ``httpx.MockTransport`` handler."""
        if request.method == "GET" and request.url.path.endswith("/models"):
            return httpx.Response(200, json=self.models())
        try:
            body = json.loads(request.content)
        except ValueError:
            return httpx.Response(400, json=openai_error(400, "The body is not valid JSON."))
        if request.url.path.endswith("/embeddings"):
            answer = await self.embeddings(body)
        else:
            answer = await self.respond(body)
        return httpx.Response(answer.status, json=answer.body, headers=answer.headers)

    @contextmanager
    def mock(self, base_url: str = BASE_URL) -> Iterator[respx.MockRouter]:
        """Route every openai SDK request to ``base_url`` to this fake, in-process.

        The router is yielded so a test may script a route answer by answer;
        requests to any other host fail, as nothing may leave the machine.
        """
        # ``using="httpx"`` routes at the httpx client, whatever its transport:
        # ``LLMClient`` sends through the SDK's aiohttp one, which the default
        # (httpcore) mocker would not see.
        with respx.mock(base_url=base_url, assert_all_called=False, using="httpx") as router:
            router.post("/chat/completions").mock(side_effect=self.handle)
            router.get("/models").mock(side_effect=self.handle)
            router.post("/embeddings").mock(side_effect=self.handle)
            self._mocked_url, self.router = base_url, router
            try:
                yield router
            finally:
                self._mocked_url, self.router = None, None

    # --- over HTTP: aiohttp ------------------------------------------------------

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._handle_chat)
        app.router.add_get("/v1/models", self._handle_models)
        app.router.add_post("/v1/embeddings", self._handle_embeddings)
        app.router.add_get("/_fake/stats", self._handle_stats)
        return app

    async def _handle_chat(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return web.json_response(openai_error(400, "The body is not valid JSON."), status=400)
        answer = await self.respond(body)
        return web.json_response(answer.body, status=answer.status, headers=answer.headers)

    async def _handle_embeddings(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return web.json_response(openai_error(400, "The body is not valid JSON."), status=400)
        answer = await self.embeddings(body)
        return web.json_response(answer.body, status=answer.status, headers=answer.headers)

    async def _handle_models(self, request: web.Request) -> web.Response:
        return web.json_response(self.models())

    async def _handle_stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Serve a fake OpenAI chat completions API on 127.0.0.1."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument(
        "--print-url", action="store_true", help="print the base URL as the first stdout line"
    )
    parser.add_argument("--latency", type=float, default=0.0, help="seconds each request takes")
    parser.add_argument("--model", default="fake-model")
    options = parser.parse_args(argv)
    fake = FakeOpenAI(
        latency_s=options.latency, model=options.model, host=options.host, port=options.port
    )
    asyncio.run(run_standalone(fake, print_url=options.print_url))


if __name__ == "__main__":
    main()

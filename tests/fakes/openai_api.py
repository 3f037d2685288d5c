"""``FakeOpenAI``: a real HTTP server answering ``POST /v1/chat/completions``.

For the benchmark and subprocess end-to-end tests (unit tests of the LLM client
use respx instead).  Each request waits ``latency_s`` with ``asyncio.sleep``,
so hundreds of concurrent requests overlap instead of queueing; the answer is
a full ``chat.completion`` whose content comes from ``responder`` (by default
``llm_replies.default_reply``: a valid TriageOutput / DraftOutput / BriefOutput).
``fail_next`` makes the next requests fail with an HTTP status, OpenAI style.

Standalone::

    python -m tests.fakes.openai_api --port 0 --latency 2 --print-url
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .http_server import LocalServer, run_standalone
from .llm_replies import default_reply

Responder = Callable[[dict[str, Any]], dict[str, Any] | str]

_ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("authentication_error", "invalid_api_key"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
}


@dataclass(frozen=True)
class _Failure:
    status: int
    retry_after: float | None


def openai_error(status: int, message: str) -> dict[str, Any]:
    kind, code = _ERROR_TYPES.get(status, ("server_error", None))
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def _rough_tokens(text: str) -> int:
    return max(1, len(text) // 4)


class FakeOpenAI(LocalServer):
    """An OpenAI-compatible chat completions endpoint on 127.0.0.1."""

    def __init__(
        self,
        *,
        latency_s: float = 0.0,
        responder: Responder | None = None,
        model: str = "fake-model",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        self.latency_s = latency_s
        self.responder: Responder = responder or default_reply
        self.model = model
        self.requests: list[dict[str, Any]] = []
        self.in_flight = 0
        self.max_in_flight = 0  # proof for the bench that requests overlapped
        self._failures: deque[_Failure] = deque()
        self._ids = itertools.count(1)

    @property
    def url(self) -> str:
        return f"{self.base_url}/v1"

    def fail_next(self, status: int, *, times: int = 1, retry_after: float | None = None) -> None:
        """The next ``times`` requests answer ``status`` (with Retry-After when given)."""
        for _ in range(times):
            self._failures.append(_Failure(status, retry_after))

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._handle_chat)
        app.router.add_get("/v1/models", self._handle_models)
        return app

    async def _handle_chat(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return web.json_response(openai_error(400, "The body is not valid JSON."), status=400)
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return web.json_response(
                openai_error(400, "'messages' is a required property"), status=400
            )
        self.requests.append(body)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.latency_s > 0:
                await asyncio.sleep(self.latency_s)
            return self._answer(body)
        finally:
            self.in_flight -= 1

    def _answer(self, body: dict[str, Any]) -> web.Response:
        if self._failures:
            failure = self._failures.popleft()
            headers = (
                {} if failure.retry_after is None else {"Retry-After": f"{failure.retry_after:g}"}
            )
            message = f"Injected failure: HTTP {failure.status}."
            return web.json_response(
                openai_error(failure.status, message), status=failure.status, headers=headers
            )
        if body.get("stream"):
            return web.json_response(openai_error(400, "The fake does not stream."), status=400)
        content = self.responder(body)
        text = content if isinstance(content, str) else json.dumps(content)
        return web.json_response(self._completion(body, text))

    def _completion(self, body: dict[str, Any], text: str) -> dict[str, Any]:
        prompt = sum(_rough_tokens(json.dumps(m.get("content", ""))) for m in body["messages"])
        completion = _rough_tokens(text)
        return {
            "id": f"chatcmpl-fake{next(self._ids):06d}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": str(body.get("model") or self.model),
            "system_fingerprint": "fp_fake",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text, "refusal": None},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            },
        }

    async def _handle_models(self, request: web.Request) -> web.Response:
        model = {"id": self.model, "object": "model", "created": 1_700_000_000, "owned_by": "fake"}
        return web.json_response({"object": "list", "data": [model]})


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

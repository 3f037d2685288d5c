"""A respx side effect that answers chat completions from a complaint fixture's canned outputs."""

from __future__ import annotations

import json
from typing import Any

import httpx


def completion(content: dict[str, Any] | str, *, prompt_tokens: int = 120, completion_tokens: int = 60) -> httpx.Response:
    text = content if isinstance(content, str) else json.dumps(content)
    return httpx.Response(
        200,
        json={
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1,
            "model": "fake-model",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens},
        },
    )


def schema_name(request: httpx.Request) -> str:
    body = json.loads(request.content)
    fmt = body.get("response_format") or {}
    return str((fmt.get("json_schema") or {}).get("name", ""))


class ScriptedLLM:
    """Answers triage and draft requests from a fixture's canned outputs."""

    def __init__(self, fixture: dict[str, Any]) -> None:
        self.fixture = fixture
        self.requests: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(json.loads(request.content))
        if schema_name(request) == "TriageOutput":
            return completion(self.fixture["llm_triage"])
        return completion(self.fixture["llm_draft"])

"""Replies of a fake OpenAI-compatible server, shaped like the real API's JSON.

respx answers the real openai SDK with these, so the SDK parses them exactly
as it would parse a server's; ``RecordedSleeps`` stands in for
``asyncio.sleep`` so retry waits can be asserted without being taken.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from app.domain.models import DraftOutput, OfferProposal, Step, StepEvidence, TriageOutput
from app.llm import LLMClient

BASE_URL = "http://llm.test/v1"
API_KEY = "sk-test"

# What the make_client fixture returns: build a client, overriding any LLMConfig field.
MakeClient = Callable[..., LLMClient]

TRIAGE = TriageOutput(
    kind="complaint",
    needs_reply=True,
    category="delivery",
    urgency="high",
    sentiment="frustrated",
    language="en",
    needs_escalation=False,
    escalation_reasons=[],
    summary="The parcel promised for Monday has still not arrived.",
)

DRAFT = DraftOutput(
    reply="I'm sorry your order is late; a replacement ships today by express.",
    steps=[StepEvidence(step=Step.ACKNOWLEDGE, quote="I'm sorry your order is late")],
    offers=[OfferProposal(offer_id="express_reship", amount=None, why_it_helps="arrives tomorrow")],
    follow_up="Check tracking on Thursday.",
)


def completion_body(
    content: str | None,
    *,
    prompt_tokens: int = 100,
    completion_tokens: int = 20,
    model: str = "served-model",
    finish_reason: str = "stop",
    refusal: str | None = None,
) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "finish_reason": finish_reason,
                "message": {"role": "assistant", "content": content, "refusal": refusal},
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def reply(content: str | None, **fields: Any) -> httpx.Response:
    return httpx.Response(200, json=completion_body(content, **fields))


def error(status: int, message: str = "boom", **headers: str) -> httpx.Response:
    return httpx.Response(
        status,
        json={"error": {"message": message, "type": "server_error", "code": None}},
        headers=headers,
    )


def sent_body(call: Any) -> dict[str, Any]:
    """The JSON body of one request respx recorded."""
    body: dict[str, Any] = json.loads(call.request.content)
    return body


class RecordedSleeps:
    """Replaces asyncio.sleep: remembers each wait the retry policy chose."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)

"""Reading a chat completion as a pydantic model, and asking once for a repair.

Servers and small models wrap JSON in ```json fences, put a sentence before
it, return no choices, ``content: null`` or a refusal.  All of these become
``BadReply`` with a short ``problem`` that names fields and pydantic's
complaint but never the reply's text, so it can go into logs, into the
error the caller sees and into the repair request.
"""

from __future__ import annotations

import re
from typing import TypeVar

from openai.types.chat import ChatCompletion
from pydantic import BaseModel, ValidationError

from app.domain.models import ChatMessage, TokenUsage

T = TypeVar("T", bound=BaseModel)

_FENCED = re.compile(r"```[A-Za-z]*[ \t]*\n?(.*?)```", re.DOTALL)
_PROBLEM_LIMIT = 400
_ERRORS_SHOWN = 3
# The bad reply goes back to the model; a runaway one must not blow the context.
_ECHO_LIMIT = 8000


class BadReply(Exception):
    """The server answered, but not with JSON that fits the schema."""

    def __init__(self, problem: str, reply_text: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.reply_text = reply_text


def usage_of(completion: ChatCompletion) -> TokenUsage:
    # Some servers leave usage out entirely, or send only part of it.
    usage = getattr(completion, "usage", None)
    if usage is None:
        return TokenUsage()
    return TokenUsage(
        prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
        completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
    )


def parse_reply(completion: ChatCompletion, schema: type[T]) -> T:
    """The first choice's content validated as ``schema``; ``BadReply`` otherwise."""
    if not isinstance(completion, ChatCompletion):
        # The SDK hands back the raw text when a 200 is not JSON, e.g. a proxy's page.
        raise BadReply(
            "the server did not answer with a chat completion; check OPENAI_BASE_URL", ""
        )
    choices = getattr(completion, "choices", None) or []
    if not choices:
        raise BadReply("the server returned no choices", "")
    choice = choices[0]
    message = getattr(choice, "message", None)
    if message is None:
        raise BadReply("the server returned a choice without a message", "")
    if getattr(message, "refusal", None):
        raise BadReply("the model refused to answer", "")
    content = getattr(message, "content", None)
    if not content or not content.strip():
        raise BadReply("the reply was empty", "")
    try:
        return schema.model_validate_json(json_text(content))
    except ValidationError as exc:
        problem = summarize_validation_error(exc)
        if getattr(choice, "finish_reason", None) == "length":
            problem = f"the reply was cut off by max_tokens; {problem}"
        raise BadReply(problem, content) from exc


def json_text(content: str) -> str:
    """The JSON inside ``content``: out of a ``` fence, or from the first brace to the last."""
    fenced = _FENCED.search(content)
    text = fenced.group(1).strip() if fenced else content.strip()
    if not text.startswith(("{", "[")):
        first, last = text.find("{"), text.rfind("}")
        if 0 <= first < last:
            text = text[first : last + 1]
    return text


def summarize_validation_error(exc: ValidationError) -> str:
    """``field.path: what is wrong`` for the first few errors, without the input values."""
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    parts = []
    for error in errors[:_ERRORS_SHOWN]:
        where = ".".join(str(part) for part in error["loc"]) or "(whole reply)"
        parts.append(f"{where}: {error['msg']}")
    if len(errors) > _ERRORS_SHOWN:
        parts.append(f"and {len(errors) - _ERRORS_SHOWN} more errors")
    summary = "; ".join(parts)
    if len(summary) > _PROBLEM_LIMIT:
        summary = summary[: _PROBLEM_LIMIT - 3] + "..."
    return summary


def repair_conversation(messages: list[ChatMessage], bad: BadReply) -> list[ChatMessage]:
    """The original conversation plus the bad reply and a request to correct it."""
    echoed = bad.reply_text[:_ECHO_LIMIT] or "(no reply)"
    return [
        *messages,
        ChatMessage(role="assistant", content=echoed),
        ChatMessage(
            role="user",
            content=(
                f"That reply did not match the schema: {bad.problem}. "
                "Reply again with only the corrected JSON."
            ),
        ),
    ]

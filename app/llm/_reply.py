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

from pydantic import BaseModel, ConfigDict, ValidationError

from app.domain.models import ChatMessage, TokenUsage

T = TypeVar("T", bound=BaseModel)

_FENCED = re.compile(r"```[A-Za-z]*[ \t]*\n?(.*?)```", re.DOTALL)
_PROBLEM_LIMIT = 400
_ERRORS_SHOWN = 3
# The bad reply goes back to the model; a runaway one must not blow the context.
_ECHO_LIMIT = 8000


class _Lenient(BaseModel):
    # Servers add fields, leave some out or send null; only a wrong type fails.
    model_config = ConfigDict(extra="ignore")


class _Message(_Lenient):
    content: str | None = None
    refusal: str | None = None


class _Choice(_Lenient):
    message: _Message | None = None
    finish_reason: str | None = None


class _Usage(_Lenient):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class Completion(_Lenient):
    """The parts of a chat completion tactful reads.

    Read straight from the response body by pydantic's JSON parser: building
    the SDK's full ``ChatCompletion`` object graph cost more CPU per draft than
    everything tactful does with it.
    """

    model: str | None = None
    choices: list[_Choice] | None = None
    usage: _Usage | None = None


def read_completion(body: bytes) -> Completion | None:
    """The completion in a 200 response's body; ``None`` when it is not one (a proxy's page)."""
    try:
        return Completion.model_validate_json(body)
    except ValidationError:
        return None


class BadReply(Exception):
    """The server answered, but not with JSON that fits the schema."""

    def __init__(self, problem: str, reply_text: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.reply_text = reply_text


def usage_of(completion: Completion | None) -> TokenUsage:
    # Some servers leave usage out entirely, or send only part of it.
    usage = completion.usage if completion is not None else None
    if usage is None:
        return TokenUsage()
    return TokenUsage(
        prompt_tokens=usage.prompt_tokens or 0,
        completion_tokens=usage.completion_tokens or 0,
    )


def parse_reply(completion: Completion | None, schema: type[T]) -> T:
    """The first choice's content validated as ``schema``; ``BadReply`` otherwise."""
    if completion is None:
        raise BadReply(
            "the server did not answer with a chat completion; check OPENAI_BASE_URL", ""
        )
    if not completion.choices:
        raise BadReply("the server returned no choices", "")
    choice = completion.choices[0]
    message = choice.message
    if message is None:
        raise BadReply("the server returned a choice without a message", "")
    if message.refusal:
        raise BadReply("the model refused to answer", "")
    content = message.content
    if not content or not content.strip():
        raise BadReply("the reply was empty", "")
    try:
        return schema.model_validate_json(json_text(content))
    except ValidationError as exc:
        problem = summarize_validation_error(exc)
        if choice.finish_reason == "length":
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

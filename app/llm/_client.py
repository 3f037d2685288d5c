"""``LLMClient``: the one place tactful talks to an OpenAI-compatible server.

One ``complete`` call is at most three exchanges with the server: the
request, a ``json_object`` retry when ``auto`` mode finds the server cannot
do ``json_schema``, and one repair when the reply does not fit the schema.
Each exchange runs under the retry policy of ``_retry``; whatever still goes
wrong leaves as ``LLMUnavailable`` or ``LLMBadOutput`` from
``app.domain.ports``, so callers never see an openai exception.

Logs say what happened (attempt, status, wait, schema name), never what
was said and never the key.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import httpx
import openai
import structlog
from pydantic import BaseModel
from tenacity import RetryCallState

from app.domain.models import ChatMessage, TokenUsage
from app.domain.ports import LLMBadOutput, LLMResult, LLMUnavailable
from app.llm._config import LLMConfig, UsageRecord
from app.llm._failures import ExchangeFailure, describe_failure, public_url, rejects_json_schema
from app.llm._reply import (
    BadReply,
    Completion,
    parse_reply,
    read_completion,
    repair_conversation,
    usage_of,
)
from app.llm._retry import Sleep, retry_policy
from app.llm._schema import (
    json_object_response_format,
    json_schema_response_format,
    strict_json_schema,
    with_schema_instruction,
)
from app.llm._transport import llm_http_client

T = TypeVar("T", bound=BaseModel)
WireMessage = dict[str, str]
OutputMode = Literal["json_schema", "json_object"]
UsageHook = Callable[[UsageRecord], None]

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class _Request:
    """What stays the same across the exchanges of one ``complete`` call."""

    schema: type[BaseModel]
    model: str
    temperature: float | None
    max_tokens: int | None


class _ExchangeFailed(Exception):
    def __init__(self, failure: ExchangeFailure) -> None:
        super().__init__(str(failure.error))
        self.failure = failure


class LLMClient:
    """Structured chat completions against any OpenAI-compatible server.

    Satisfies ``app.domain.ports.StructuredLLM``.  ``on_usage`` is called
    once per HTTP call (retries and repairs included) so metrics can count
    tokens and latency; ``sleep`` replaces ``asyncio.sleep`` between
    retries, which lets tests see the waits without taking them.
    """

    def __init__(
        self,
        config: LLMConfig,
        *,
        http_client: httpx.AsyncClient | None = None,
        on_usage: UsageHook | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        self._config = config
        self._owns_http_client = http_client is None
        if http_client is None:
            http_client = llm_http_client()
        self._openai = openai.AsyncOpenAI(
            # The SDK refuses an empty key, yet Ollama, vLLM and llama.cpp need none.
            api_key=config.api_key or "not-needed",
            base_url=config.base_url,
            timeout=httpx.Timeout(config.timeout_s, connect=min(10.0, config.timeout_s)),
            # tenacity is the only retry layer; two would multiply the attempts.
            max_retries=0,
            http_client=http_client,
        )
        self.on_usage = on_usage
        self._sleep: Sleep = sleep or asyncio.sleep
        self._json_schema_rejected = False
        self.server = public_url(str(self._openai.base_url))

    def warm_up(self, schemas: Sequence[type[BaseModel]]) -> None:
        """Convert each schema once at start, not on the event loop under the first complaints."""
        for schema in schemas:
            strict_json_schema(schema)

    @property
    def output_mode(self) -> OutputMode:
        """The structured-output mode the next request will use."""
        if self._config.structured_output == "json_object" or self._json_schema_rejected:
            return "json_object"
        return "json_schema"

    async def complete(
        self,
        messages: list[ChatMessage],
        schema: type[T],
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        model: str | None = None,
    ) -> LLMResult[T]:
        """Send ``messages`` and return the reply validated as ``schema``.

        Raises ``LLMUnavailable`` when the server cannot be reached or keeps
        failing, ``LLMBadOutput`` when its reply still does not fit the
        schema after one repair.
        """
        started = time.perf_counter()
        request = _Request(schema, model or self._config.model, temperature, max_tokens)
        completion = await self._exchange(request, messages)
        usage = usage_of(completion)
        try:
            value = parse_reply(completion, schema)
        except BadReply as first:
            log.warning(
                "llm.bad_output", schema=schema.__name__, problem=first.problem, repair=True
            )
            completion = await self._exchange(request, repair_conversation(messages, first))
            usage = usage + usage_of(completion)
            try:
                value = parse_reply(completion, schema)
            except BadReply as second:
                log.warning("llm.bad_output", schema=schema.__name__, problem=second.problem)
                raise LLMBadOutput(
                    f"the LLM reply did not match {schema.__name__} even after one repair: "
                    f"{second.problem}"
                ) from second
        return LLMResult(
            value=value,
            usage=usage,
            model=(completion.model if completion is not None else None) or request.model,
            latency_ms=(time.perf_counter() - started) * 1000,
        )

    async def embed(self, texts: Sequence[str], *, model: str) -> list[list[float]]:
        """Vectors for ``texts`` from the server's embeddings endpoint, in order.

        Same timeout and retry policy as ``complete``; raises ``LLMUnavailable``.
        """
        retrying = retry_policy(self._config, sleep=self._sleep, before_sleep=self._log_retry)
        started, attempts = time.monotonic(), 0
        try:
            async for attempt in retrying:
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    response = await self._openai.embeddings.create(
                        model=model, input=list(texts)
                    )
                    ordered = sorted(response.data, key=lambda item: item.index)
                    return [list(item.embedding) for item in ordered]
        except openai.APIError as error:
            failure = ExchangeFailure(error, attempts, time.monotonic() - started)
            request = _Request(BaseModel, model, None, None)
            raise self._unavailable(failure, request) from error
        raise AssertionError("the retry policy stopped without a result or an error")

    async def aclose(self) -> None:
        """Close the connection pool, unless the caller passed its own ``http_client``."""
        if self._owns_http_client:
            await self._openai.close()

    async def __aenter__(self) -> LLMClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _exchange(
        self, request: _Request, messages: list[ChatMessage]
    ) -> Completion | None:
        mode = self.output_mode
        try:
            return await self._send(request, messages, mode)
        except _ExchangeFailed as failed:
            error = failed.failure.error
            if not (
                mode == "json_schema"
                and self._config.structured_output == "auto"
                and rejects_json_schema(error)
            ):
                raise self._unavailable(failed.failure, request) from error
            # Remembered for the life of the client: the server will not
            # learn json_schema between two complaints.
            self._json_schema_rejected = True
            log.warning(
                "llm.json_schema_rejected",
                server=self.server,
                status=getattr(error, "status_code", None),
                fallback="json_object",
            )
        try:
            return await self._send(request, messages, "json_object")
        except _ExchangeFailed as failed:
            raise self._unavailable(failed.failure, request) from failed.failure.error

    async def _send(
        self, request: _Request, messages: list[ChatMessage], mode: OutputMode
    ) -> Completion | None:
        """One exchange: the same request, retried by the policy until it gives up."""
        if mode == "json_object":
            messages = with_schema_instruction(messages, request.schema)
            response_format = json_object_response_format(request.schema)
        else:
            response_format = json_schema_response_format(request.schema)
        wire_messages = [{"role": m.role, "content": m.content} for m in messages]

        retrying = retry_policy(self._config, sleep=self._sleep, before_sleep=self._log_retry)
        started = time.monotonic()
        attempts = 0
        try:
            async for attempt in retrying:
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    return await self._post(request, wire_messages, response_format)
        except openai.APIError as error:
            failure = ExchangeFailure(error, attempts, time.monotonic() - started)
            raise _ExchangeFailed(failure) from error
        raise AssertionError("the retry policy stopped without a result or an error")

    async def _post(
        self,
        request: _Request,
        messages: list[WireMessage],
        response_format: dict[str, Any],
    ) -> Completion | None:
        """One HTTP call, reported to ``on_usage`` whether it worked or not."""
        body: dict[str, Any] = {
            "model": request.model,
            "messages": messages,
            "response_format": response_format,
            "stream": False,
        }
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.max_tokens is not None:
            body["max_tokens"] = request.max_tokens
        began = time.perf_counter()
        try:
            # The SDK's raw request (its documented way to post any body): it keeps
            # the SDK's auth, headers, timeouts and error types, and skips walking
            # the already wire-shaped body and building the typed response, which
            # were most of the client's CPU per draft under a burst.
            response = await self._openai.post(
                "/chat/completions",
                cast_to=httpx.Response,
                body=body,
                options={"security": {"bearer_auth": True}},
            )
        except openai.APIError:
            self._report_usage(request.model, TokenUsage(), began, ok=False)
            raise
        completion = read_completion(response.content)
        model = (completion.model if completion is not None else None) or request.model
        self._report_usage(model, usage_of(completion), began, ok=True)
        return completion

    def _report_usage(self, model: str, usage: TokenUsage, began: float, *, ok: bool) -> None:
        if self.on_usage is None:
            return
        record = UsageRecord(
            model=model,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            latency_ms=(time.perf_counter() - began) * 1000,
            ok=ok,
        )
        try:
            self.on_usage(record)
        except Exception:
            # Counting tokens must never cost a customer their draft.
            log.exception("llm.usage_hook_failed")

    def _log_retry(self, state: RetryCallState) -> None:
        outcome = state.outcome
        error = outcome.exception() if outcome is not None and outcome.failed else None
        log.warning(
            "llm.retry",
            server=self.server,
            attempt=state.attempt_number,
            error=type(error).__name__,
            status=getattr(error, "status_code", None),
            wait_s=round(state.upcoming_sleep, 3),
        )

    def _unavailable(self, failure: ExchangeFailure, request: _Request) -> LLMUnavailable:
        message = describe_failure(
            failure,
            server=self.server,
            model=request.model,
            timeout_s=self._config.timeout_s,
            secret=self._config.api_key,
        )
        log.warning("llm.unavailable", reason=message, attempts=failure.attempts)
        return LLMUnavailable(message)


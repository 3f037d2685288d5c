"""The Slack Web API clients: paced, honouring SLACK_API_URL, sharing one HTTP session.

slack_sdk opens a new aiohttp session (and connection) per call unless it is
given one; under load that costs more CPU than the rest of a job.  Every call
of the bot's clients waits its turn in the ``SlackPacer`` (``app.slack.pacing``)
and a 429 is retried there, after its Retry-After, ahead of the calls that
queued behind it.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from app.settings import Settings
from app.slack.pacing import Priority, SlackPacer, current_priority

RATELIMITED_RETRIES = 3
_DEFAULT_RETRY_AFTER_S = 1.0


class _RateLimitOutsidePacer(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's 429 retry, for clients the pacer does not wrap.

    Bolt gives each listener a plain client with copies of the bot client's
    retry handlers; there a 429 is retried as before.  A ``PacedWebClient``
    retries its 429s itself, so its calls are declined here.
    """

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if _paced.get():
            return False
        return await super()._can_retry_async(
            state=state, request=request, response=response, error=error
        )


# True while a PacedWebClient call is on its way: its 429s are the pacer's to retry.
_paced: ContextVar[bool] = ContextVar("slack_call_paced", default=False)


class PacedWebClient(AsyncWebClient):
    """An AsyncWebClient whose every Web API call waits for its turn in ``pacer``."""

    def __init__(
        self, *, pacer: SlackPacer, priority: Priority | None = None, **options: Any
    ) -> None:
        super().__init__(**options)
        self.pacer = pacer
        # A client for customer replies queues them all as replies.
        self._priority = priority

    async def api_call(
        self,
        api_method: str,
        *,
        http_verb: str = "POST",
        files: dict[str, Any] | None = None,
        data: Any = None,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        auth: dict[str, Any] | None = None,
    ) -> AsyncSlackResponse:
        limit = self.pacer.limit_of(api_method)
        channel = _channel_of(json, data, params) if limit and limit.per_channel else None
        priority = self._priority if self._priority is not None else current_priority()
        attempt = 0
        paced = _paced.set(True)
        try:
            while True:
                async with self.pacer.slot(api_method, channel, priority):
                    try:
                        return await super().api_call(
                            api_method,
                            http_verb=http_verb,
                            files=files,
                            data=data,
                            params=params,
                            json=json,
                            headers=headers,
                            auth=auth,
                        )
                    except SlackApiError as exc:
                        if exc.response.status_code != 429 or attempt >= RATELIMITED_RETRIES:
                            raise
                        await self.pacer.refused(api_method, channel, _retry_after_s(exc))
                attempt += 1
                priority = Priority.RETRY
        finally:
            _paced.reset(paced)


def _channel_of(*sources: Any) -> str | None:
    for source in sources:
        if isinstance(source, dict) and source.get("channel"):
            return str(source["channel"])
    return None


def _retry_after_s(exc: SlackApiError) -> float:
    headers = exc.response.headers or {}
    for name, value in headers.items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
            try:
                return max(0.0, float(raw))
            except (TypeError, ValueError):
                break
    return _DEFAULT_RETRY_AFTER_S


def http_session(settings: Settings) -> aiohttp.ClientSession:
    """The one aiohttp session both Web API clients share.

    aiohttp's default connector allows 100 connections; a burst of drafting
    jobs finishing together would queue its card posts behind that, so the cap
    follows the drafting concurrency (plus room for acks' own lookups).
    """
    connector = aiohttp.TCPConnector(limit=settings.max_concurrent_drafts + 64)
    return aiohttp.ClientSession(connector=connector)


def build_web_client(
    settings: Settings,
    *,
    pacer: SlackPacer,
    session: aiohttp.ClientSession | None = None,
    for_replies: bool = False,
) -> PacedWebClient:
    """The bot's client; ``for_replies`` gives the one that posts to customers.

    Both share ``pacer``: Slack counts the app's calls, whichever client makes
    them.  Replies are retried only on 429 (Slack did not post), never on 5xx
    or a dropped connection, where Slack may have posted: a retry could send
    twice.
    """
    handlers: list[AsyncRetryHandler] = [_RateLimitOutsidePacer(max_retry_count=3)]
    if not for_replies:
        handlers += [
            AsyncServerErrorRetryHandler(max_retry_count=2),
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
        ]
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return PacedWebClient(
        pacer=pacer,
        priority=Priority.REPLY if for_replies else None,
        token=token,
        base_url=settings.slack_api_url,
        timeout=10,
        session=session,
        retry_handlers=handlers,
    )

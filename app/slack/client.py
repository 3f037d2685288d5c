"""The Slack Web API clients: both honour SLACK_API_URL and share one HTTP session.

slack_sdk opens a new aiohttp session (and connection) per call unless it is
given one; under load that costs more CPU than the rest of a job.
"""

from __future__ import annotations

import aiohttp
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from app.settings import Settings


def build_web_client(
    settings: Settings, *, session: aiohttp.ClientSession | None = None, for_replies: bool = False
) -> AsyncWebClient:
    """The bot's client; ``for_replies`` gives the one that posts to customers.

    Replies are retried only on 429 (Slack did not post), never on 5xx or a
    dropped connection, where Slack may have posted: a retry could send twice.
    """
    handlers: list[AsyncRetryHandler] = [AsyncRateLimitErrorRetryHandler(max_retry_count=3)]
    if not for_replies:
        handlers += [
            AsyncServerErrorRetryHandler(max_retry_count=2),
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
        ]
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return AsyncWebClient(
        token=token,
        base_url=settings.slack_api_url,
        timeout=10,
        session=session,
        retry_handlers=handlers,
    )

"""The one Slack Web API client: honours SLACK_API_URL, retries 429 and 5xx."""

from __future__ import annotations

from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from app.settings import Settings


def build_web_client(settings: Settings, *, token: str | None = None) -> AsyncWebClient:
    bot_token = token or (
        settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    )
    return AsyncWebClient(
        token=bot_token,
        base_url=settings.slack_api_url,
        timeout=10,
        retry_handlers=[
            # Retry-After is honoured by the rate-limit handler.
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
            AsyncServerErrorRetryHandler(max_retry_count=2),
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
        ],
    )

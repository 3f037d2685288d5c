"""Socket Mode (`tactful serve --socket`): the same Bot, reached over Slack's socket.

Each envelope feeds the same ack metrics as an HTTP request and steps drafting
jobs aside while it is being acked, as ``http_app`` does.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from typing import TYPE_CHECKING

import structlog
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from app.settings import Settings, SettingsError
from app.slack.server import Bot, count_ack, freeze_start_up_heap, http_app, until_signalled
from app.usecases.ack_first import AckFirst

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler


async def _socket_url(client: AsyncWebClient, app_token: str, api_url: str) -> str:
    """Check SLACK_APP_TOKEN before connecting: slack_sdk would retry a refused token forever."""
    try:
        response = await client.apps_connections_open(app_token=app_token)
    except SlackApiError as exc:
        raise SettingsError(
            f"Slack refused SLACK_APP_TOKEN ({exc.response.get('error')}) at {api_url}: use an "
            "app-level token (xapp-…) with connections:write from Basic Information → App-Level "
            "Tokens, and turn Socket Mode on."
        ) from None
    return str(response["url"])


def _measured_socket_handler(
    app: AsyncApp, app_token: str, acks: AckFirst | None = None
) -> AsyncSocketModeHandler:
    """Bolt's Socket Mode handler, counting each envelope's ack as ``http_app`` counts requests."""
    from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
    from slack_bolt.adapter.socket_mode.async_internals import (
        run_async_bolt_app,
        send_async_response,
    )
    from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
    from slack_sdk.socket_mode.request import SocketModeRequest

    class MeasuredSocketModeHandler(AsyncSocketModeHandler):
        async def handle(
            self, client: AsyncBaseSocketModeClient, req: SocketModeRequest
        ) -> None:
            started, sent_at = time.perf_counter(), time.time()
            retry = str(req.retry_attempt) if req.retry_attempt else None
            with (
                acks.acking() if acks else contextlib.nullcontext(),
                structlog.contextvars.bound_contextvars(
                    request_id=uuid.uuid4().hex[:12], slack_retry=retry
                ),
            ):
                response = await run_async_bolt_app(self.app, req)
                await send_async_response(client, req, response, sent_at)
            count_ack("socket", response.status, started)

    return MeasuredSocketModeHandler(app, app_token)


async def serve_socket(settings: Settings, *, port: int | None = None) -> None:
    bot = Bot(settings, socket_mode=True, migrate_in_child=True)
    runner: web.AppRunner | None = None
    handler: AsyncSocketModeHandler | None = None
    try:
        if port:
            # Health and metrics stay available in Socket Mode for container probes.
            runner = web.AppRunner(http_app(bot), access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "0.0.0.0", port).start()
        await bot.start()
        freeze_start_up_heap()
        assert bot.app is not None and settings.slack_app_token is not None
        app_token = settings.slack_app_token.get_secret_value()
        url = await _socket_url(bot.app.client, app_token, settings.slack_api_url)
        handler = _measured_socket_handler(
            bot.app, app_token, bot.desk.ack_first if bot.desk else None
        )
        # The checked URL serves the first connection: no second call to a rate-limited method.
        handler.client.wss_uri = url
        await handler.connect_async()  # type: ignore[no-untyped-call]
        await until_signalled()
    finally:
        if handler is not None:
            await handler.close_async()  # type: ignore[no-untyped-call]
        await bot.stop()
        if runner:
            await runner.cleanup()

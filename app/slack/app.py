"""build_app: the Bolt AsyncApp with every listener registered (no module-level app)."""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from app.slack.agents import AgentDirectory
from app.slack.deps import ListenerDeps
from app.slack.listeners import register


def build_app(
    client: AsyncWebClient,
    deps: ListenerDeps,
    agents: AgentDirectory,
    *,
    signing_secret: str | None,
    socket_mode: bool = False,
) -> AsyncApp:
    app = AsyncApp(
        client=client,
        signing_secret="" if socket_mode or signing_secret is None else signing_secret,
        # Listeners ack first and do slow work after; Bolt returns the ack at once.
        process_before_response=False,
        # Socket Mode payloads arrive over an authenticated websocket, not signed HTTP.
        request_verification_enabled=not socket_mode,
        logger=logging.getLogger("slack_bolt"),
    )
    register(app, deps, agents)
    return app

"""build_app: the Bolt AsyncApp with every listener registered (no module-level app)."""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp

from app.slack.listeners import register
from app.slack.services import Services
from app.slack.worker import JobWorker


def build_app(services: Services, worker: JobWorker, *, socket_mode: bool = False) -> AsyncApp:
    secret = services.settings.slack_signing_secret
    app = AsyncApp(
        client=services.client,
        signing_secret="" if socket_mode or secret is None else secret.get_secret_value(),
        # Listeners ack first and do slow work after; Bolt returns the ack at once.
        process_before_response=False,
        # Socket Mode payloads arrive over an authenticated websocket, not signed HTTP.
        request_verification_enabled=not socket_mode,
        logger=logging.getLogger("slack_bolt"),
    )
    register(app, services, worker)
    return app

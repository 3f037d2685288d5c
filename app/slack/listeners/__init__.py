"""The routing table: every listener module registers itself on the app."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from app.slack.listeners import actions, commands, events, shortcuts, views
from app.slack.services import Services
from app.slack.worker import JobWorker


def register(app: AsyncApp, services: Services, worker: JobWorker) -> None:
    events.register(app, services, worker)
    actions.register(app, services, worker)
    views.register(app, services, worker)
    shortcuts.register(app, services, worker)
    commands.register(app, services, worker)

"""The routing table: the agent guard first, then every listener module registers itself."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from app.slack.agents import AgentDirectory
from app.slack.deps import ListenerDeps
from app.slack.guard import agent_guard
from app.slack.listeners import (
    actions,
    briefs,
    commands,
    events,
    incidents,
    relay,
    shortcuts,
    views,
)


def register(app: AsyncApp, deps: ListenerDeps, agents: AgentDirectory) -> None:
    events.register_dedupe(app, deps)
    app.middleware(agent_guard(agents))
    events.register(app, deps)
    actions.register(app, deps)
    relay.register(app, deps)
    views.register(app, deps)
    shortcuts.register(app, deps)
    commands.register(app, deps)
    briefs.register(app, deps)
    incidents.register(app, deps)

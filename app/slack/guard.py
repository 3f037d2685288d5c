"""One agent guard for every action, view, shortcut, command and mention.

Registered as Bolt middleware, so no listener can forget it.  Watched
messages pass untouched (customers write those), and so does App Home,
which shows figures only when ``context["is_agent"]`` says so.  The lookup
is bounded in time because the ack waits for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from app import metrics
from app.slack.agents import AgentDirectory

log = structlog.get_logger(__name__)

NOT_AN_AGENT = "Only support agents listed in TACTFUL_AGENTS can use tactful's drafts and briefs."
LOOKUP_SLOW = "I could not check that you are a support agent just now; please try again."
# Slack wants its ack within 3 s; the lookup gets a share of that.
LOOKUP_S = 1.5
# Events anyone triggers: a customer's message, opening App Home.
_OPEN_EVENTS = {"message", "app_home_opened"}

Next = Callable[[], Awaitable[None]]


def _asker(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """Who is asking, and from which workspace, whatever the payload kind."""
    if body.get("type") == "event_callback":
        event = body.get("event") or {}
        return event.get("user"), event.get("user_team") or event.get("team")
    if "command" in body:
        return body.get("user_id"), body.get("team_id")
    user = body.get("user") or {}
    return user.get("id"), user.get("team_id") or (body.get("team") or {}).get("id")


def agent_guard(agents: AgentDirectory) -> Callable[..., Awaitable[BoltResponse | None]]:
    async def guard(
        body: dict[str, Any],
        context: AsyncBoltContext,
        ack: AsyncAck,
        respond: AsyncRespond | None,
        client: AsyncWebClient,
        next: Next,  # noqa: A002
    ) -> BoltResponse | None:
        event_type = (body.get("event") or {}).get("type")
        user, team = _asker(body)
        if event_type in _OPEN_EVENTS or (event_type is None and body.get("type") == "event_callback"):
            if event_type == "app_home_opened" and user:
                context["is_agent"] = await _check(agents, user, team) is True
            await next()
            return None
        if body.get("type") == "url_verification" or not user:
            await next()
            return None
        verdict = await _check(agents, user, team)
        if verdict is True:
            context["is_agent"] = True
            await next()
            return None
        log.warning("agent_guard_refused", user=user, team=team, slow=verdict is None)
        metrics.DECISIONS.labels(action="refused").inc()
        return await _refuse(
            body, ack, respond, client, NOT_AN_AGENT if verdict is False else LOOKUP_SLOW
        )

    return guard


async def _check(agents: AgentDirectory, user: str, team: str | None) -> bool | None:
    """True or False, or None when Slack did not answer in time."""
    try:
        return await asyncio.wait_for(agents.is_agent(user, team_id=team), LOOKUP_S)
    except TimeoutError:
        return None


def _refuse(
    body: dict[str, Any], ack: AsyncAck, respond: AsyncRespond | None, client: AsyncWebClient, text: str
) -> Awaitable[BoltResponse]:
    """The ack that refuses; where the ack cannot carry the words, an ephemeral note follows."""
    kind = body.get("type")
    if kind == "view_submission":
        values = ((body.get("view") or {}).get("state") or {}).get("values") or {}
        return ack(response_action="errors", errors={next(iter(values), ""): text})
    if "command" in body:
        return ack(text=text, response_type="ephemeral")
    event = body.get("event") or {}
    channel = (body.get("channel") or {}).get("id") or event.get("channel")
    note: Awaitable[Any]
    if kind in ("block_actions", "event_callback") and channel:
        note = client.chat_postEphemeral(
            channel=channel,
            user=event.get("user") or (body.get("user") or {}).get("id", ""),
            thread_ts=event.get("thread_ts") or event.get("ts"),
            text=text,
        )
    elif respond is not None:
        note = respond(text=text, response_type="ephemeral", replace_original=False)
    else:
        return ack()
    # After the ack: Slack's 3 s must not wait for the note.
    task = asyncio.create_task(note)
    _notes.add(task)
    task.add_done_callback(_notes.discard)
    return ack()


_notes: set[asyncio.Task[Any]] = set()

"""`/tactful draft TEXT`, `/tactful summarize LINK`, `/tactful help`: answers only the asker."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from app.domain.models import Complaint
from app.domain.ports import LLMError
from app.slack import blocks
from app.slack.briefs import brief_thread, parse_permalink
from app.slack.listeners.actions import NOT_AN_AGENT
from app.slack.services import Services
from app.slack.worker import JobWorker

COMMAND = "/tactful"
MAX_COMMAND_TEXT = 3500
USAGE = (
    "*/tactful draft* _customer message_ — a draft reply, only visible to you\n"
    "*/tactful summarize* _message link_ — an escalation brief of that thread\n"
    "Or use the message shortcuts *Draft a reply* and *Summarize for escalation*, "
    "or mention @tactful in a thread with your instructions."
)


def register(app: AsyncApp, services: Services, worker: JobWorker) -> None:
    @app.command(COMMAND)
    async def tactful(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        verb, _, rest = (command.get("text") or "").strip().partition(" ")
        rest = rest.strip()
        if verb not in ("draft", "summarize"):
            await ack(text=USAGE, response_type="ephemeral")
            return
        if not await services.agents.is_agent(command["user_id"], team_id=command.get("team_id")):
            await ack(text=NOT_AN_AGENT, response_type="ephemeral")
            return
        if verb == "draft":
            if not rest:
                await ack(
                    text="Paste the customer's message after `/tactful draft`.",
                    response_type="ephemeral",
                )
                return
            if len(rest) > MAX_COMMAND_TEXT:
                await ack(
                    text=f"That message is {len(rest)} characters; the command takes up to "
                    f"{MAX_COMMAND_TEXT}. Use the *Draft a reply* shortcut on the message instead.",
                    response_type="ephemeral",
                )
                return
            await ack(text="Drafting a reply… only you will see it.", response_type="ephemeral")
            services.after_ack(_draft(services, rest, respond))
            return
        target = parse_permalink(rest)
        if target is None:
            await ack(
                text="Give me a message link: `/tactful summarize https://…/archives/C…/p…`",
                response_type="ephemeral",
            )
            return
        await ack(text="Summarizing the thread…", response_type="ephemeral")
        channel, thread_ts = target
        services.after_ack(
            brief_thread(services, channel=channel, thread_ts=thread_ts, respond=respond)
        )


async def _draft(services: Services, text: str, respond: AsyncRespond) -> None:
    try:
        result = await services.drafting.pipeline.draft(Complaint(text=text))
    except LLMError as exc:
        await respond(text=f"Could not draft a reply: {exc}", response_type="ephemeral")
        return
    fallback, draft_blocks = blocks.ephemeral_draft(result)
    await respond(
        text=fallback, blocks=draft_blocks, response_type="ephemeral", replace_original=False
    )

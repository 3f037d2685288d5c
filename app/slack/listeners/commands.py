"""`/tactful draft TEXT`, `/tactful summarize LINK`, `/tactful help`: answers only the asker."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from app.domain.ports import LLMError
from app.domain.secrets import mask_credentials
from app.slack import blocks, relay_blocks
from app.slack.deps import ListenerDeps
from app.slack.listeners.briefs import WORKING, parse_permalink, start_brief
from app.slack.listeners.incidents import declare_from_command

COMMAND = "/tactful"
MAX_COMMAND_TEXT = 3500
COPY_INTRO = "*Copy-ready text*, to paste into your e-mail or chat with the customer:"
USAGE = (
    "*/tactful draft* _customer message_ — a draft reply, only visible to you\n"
    "*/tactful summarize* _message link_ — an escalation brief of that thread\n"
    "*/tactful incident* _what is going on_ — declare an incident; matching complaints "
    "share one card and their drafts use your description\n"
    "Or use the message shortcuts *Draft a reply* and *Summarize for escalation*, "
    "or mention @tactful in a thread with your instructions."
)


def register(app: AsyncApp, deps: ListenerDeps) -> None:
    @app.command(COMMAND)
    async def tactful(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        verb, _, rest = (command.get("text") or "").strip().partition(" ")
        rest = rest.strip()
        if verb == "draft":
            await _draft(deps, ack, respond, rest)
        elif verb == "summarize":
            await _summarize(deps, ack, respond, rest, asker=command["user_id"])
        elif verb == "incident":
            await declare_from_command(deps, ack, respond, rest, user_id=command["user_id"])
        else:
            await ack(text=USAGE, response_type="ephemeral")


async def _draft(deps: ListenerDeps, ack: AsyncAck, respond: AsyncRespond, text: str) -> None:
    if not text:
        await ack(text="Paste the customer's message after `/tactful draft`.", response_type="ephemeral")
        return
    if len(text) > MAX_COMMAND_TEXT:
        await ack(
            text=f"That message is {len(text)} characters; the command takes up to "
            f"{MAX_COMMAND_TEXT}. Use the *Draft a reply* shortcut on the message instead.",
            response_type="ephemeral",
        )
        return
    await ack(text="Drafting a reply… only you will see it.", response_type="ephemeral")
    try:
        result = await deps.desk.preview(text)
    except LLMError as exc:
        await respond(
            text=f"Could not draft a reply: {mask_credentials(str(exc))}", response_type="ephemeral"
        )
        return
    fallback, draft_blocks = blocks.ephemeral_draft(result)
    # The text again as plain text, ready to paste into an e-mail or chat tool.
    _, copy = relay_blocks.copy_ready(result.text, intro=COPY_INTRO)
    if len(draft_blocks) + len(copy) <= blocks.MAX_BLOCKS:
        draft_blocks = [*draft_blocks, *copy]
    await respond(text=fallback, blocks=draft_blocks, response_type="ephemeral", replace_original=False)


async def _summarize(
    deps: ListenerDeps, ack: AsyncAck, respond: AsyncRespond, link: str, *, asker: str
) -> None:
    target = parse_permalink(link)
    if target is None:
        await ack(
            text="Give me a message link: `/tactful summarize https://…/archives/C…/p…`",
            response_type="ephemeral",
        )
        return
    await ack(text=WORKING, response_type="ephemeral")
    channel, thread_ts = target
    # A link can name any channel: the asker must be able to read it.
    start_brief(deps, channel=channel, thread_ts=thread_ts, asker=asker, check_member=True)

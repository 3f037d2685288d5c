"""Buttons and menus on the suggestion card: parse the click, call the use case, answer.

The agent guard has already refused anyone who is not an agent of our own
workspace; the store's atomic updates make double clicks and concurrent
instances safe.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from app.slack import blocks, modals
from app.slack.deps import ListenerDeps
from app.slack.reminder_blocks import DRAFT_FOLLOW_UP


def draft_id_of(body: dict[str, Any]) -> int:
    action = body["actions"][0]
    draft_id = str(action.get("value", "")).split(":", 1)[0]
    if draft_id.isdigit():
        return int(draft_id)
    return int(str(action["block_id"]).rsplit("_", 1)[1])


def seen_fingerprint(body: dict[str, Any]) -> str | None:
    """The fingerprint of the text the clicker saw, when the button carries one."""
    _, _, seen = str(body["actions"][0].get("value", "")).partition(":")
    return seen or None


def register(app: AsyncApp, deps: ListenerDeps) -> None:
    desk = deps.desk

    async def tell(client: AsyncWebClient, body: dict[str, Any], text: str) -> None:
        """An ephemeral note to the clicker, in the channel where they clicked."""
        channel = (body.get("channel") or {}).get("id") or deps.review_channel
        await client.chat_postEphemeral(channel=channel, user=body["user"]["id"], text=text)

    @app.action(blocks.APPROVE)
    async def approve(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        outcome = await desk.approve(
            draft_id=draft_id_of(body), user_id=body["user"]["id"], seen=seen_fingerprint(body)
        )
        if outcome.mark_sent:
            # Imported here: the relay listener reuses this module's button parsing.
            from app.slack.listeners.relay import answer_copy_ready

            channel = (body.get("channel") or {}).get("id") or deps.review_channel
            await answer_copy_ready(client, channel=channel, user=body["user"]["id"], outcome=outcome)
        elif outcome.text_for_agent:
            await tell(client, body, f"{outcome.message}\n```{outcome.text_for_agent}```")
        elif not outcome.sent:
            await tell(client, body, outcome.message)

    @app.action(blocks.EDIT)
    async def edit(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        # trigger_id expires 3 s after the click: open the modal before anything slow.
        draft = await deps.store.get_draft(draft_id=draft_id_of(body))
        if draft is None or not draft.can_send:
            await tell(client, body, "This draft can no longer be edited.")
            return
        # The offers on offer are those of the playbook serving the complaint's channel.
        complaint = await deps.store.get_complaint(complaint_id=draft.complaint_id)
        book = deps.playbook(complaint.channel_id if complaint else None)
        await open_modal(client, body, modals.edit_modal(draft, book.catalog))

    async def open_modal(client: AsyncWebClient, body: dict[str, Any], view: dict[str, Any]) -> None:
        # trigger_id expires 3 s after the click: nothing slow comes before this.
        await client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.action(blocks.DISCARD)
    async def discard(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await open_modal(client, body, modals.discard_modal(draft_id_of(body)))

    @app.action(blocks.REGENERATE)
    async def regenerate(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        draft_id = draft_id_of(body)
        tone = body["actions"][0]["selected_option"]["value"]
        if tone == blocks.CUSTOM_TONE:
            await open_modal(client, body, modals.guidance_modal(draft_id))
            return
        await desk.regenerate.request(draft_id=draft_id, user_id=body["user"]["id"], tone=tone)
        desk.jobs.wake()
        await tell(client, body, f"Regenerating the draft in a {tone} tone…")

    @app.action(blocks.CHOOSE_OFFERS)
    async def choose_offers(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        picked = [o["value"] for o in body["actions"][0].get("selected_options") or []]
        changed = await desk.revise.choose_offers(
            draft_id=draft_id_of(body), user_id=body["user"]["id"], offer_ids=picked
        )
        if changed is None:
            await tell(client, body, "This draft can no longer be changed.")
        else:
            desk.jobs.wake()

    @app.action(blocks.OVERRIDE)
    async def override(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await open_modal(client, body, modals.override_modal(draft_id_of(body)))

    @app.action(blocks.SHARE)
    async def share(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        if not await desk.cards.share(draft_id_of(body)):
            await tell(client, body, "This draft has no card to share.")

    @app.action(DRAFT_FOLLOW_UP)
    async def draft_follow_up(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        value = str(body["actions"][0].get("value", ""))
        queued, message = await desk.draft_follow_up(
            commitment_id=int(value) if value.isdigit() else 0, user_id=body["user"]["id"]
        )
        if queued:
            desk.jobs.wake()
        await tell(client, body, message)

    @app.action(blocks.RETRY)
    async def retry(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        if await desk.draft.retry(draft_id=draft_id_of(body)):
            desk.jobs.wake()
        else:
            await tell(client, body, "This draft is not waiting for a retry.")

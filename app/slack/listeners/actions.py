"""Buttons and menus on the suggestion card.

Every handler acks first, then checks that the clicker is an agent of our
own workspace (never a Slack Connect guest), then acts through the store,
whose atomic updates make double clicks and concurrent instances safe.
"""

from __future__ import annotations

from typing import Any

import structlog
from slack_bolt.async_app import AsyncAck, AsyncApp

from app import metrics
from app.domain.drafting import offers_by_id
from app.slack import blocks
from app.slack.cards import refresh_card
from app.slack.sending import approve_and_send
from app.slack.services import Services
from app.slack.worker import JobWorker

log = structlog.get_logger(__name__)

NOT_AN_AGENT = "Only support agents listed in TACTFUL_AGENTS can act on suggestion cards."


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


async def tell(services: Services, body: dict[str, Any], text: str) -> None:
    """An ephemeral note to the clicker, in the channel where they clicked."""
    channel = (body.get("channel") or {}).get("id") or services.review_channel
    await services.client.chat_postEphemeral(channel=channel, user=body["user"]["id"], text=text)


async def from_agent(services: Services, body: dict[str, Any]) -> bool:
    user = body.get("user") or {}
    team = user.get("team_id") or (body.get("team") or {}).get("id")
    if await services.agents.is_agent(user.get("id", ""), team_id=team):
        return True
    log.warning("card_action_refused", user=user.get("id"), team=team)
    metrics.DECISIONS.labels(action="refused").inc()
    await tell(services, body, NOT_AN_AGENT)
    return False


def register(app: AsyncApp, services: Services, worker: JobWorker) -> None:
    store = services.store

    @app.action(blocks.APPROVE)
    async def approve(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        if not await from_agent(services, body):
            return
        outcome = await approve_and_send(
            services,
            draft_id=draft_id_of(body),
            user_id=body["user"]["id"],
            seen=seen_fingerprint(body),
        )
        if outcome.text_for_agent:
            await tell(services, body, f"{outcome.message}\n```{outcome.text_for_agent}```")
        elif not outcome.sent:
            await tell(services, body, outcome.message)

    @app.action(blocks.EDIT)
    async def edit(ack: AsyncAck, body: dict[str, Any], client: Any) -> None:
        await ack()
        # trigger_id expires 3 s after the click: open the modal before anything slow.
        draft = await store.get_draft(draft_id=draft_id_of(body))
        if not await from_agent(services, body):
            return
        if draft is None or draft.status != "pending":
            await tell(services, body, "This draft can no longer be edited.")
            return
        await client.views_open(
            trigger_id=body["trigger_id"],
            view=blocks.edit_modal(draft, services.playbook.current().catalog),
        )

    @app.action(blocks.DISCARD)
    async def discard(ack: AsyncAck, body: dict[str, Any], client: Any) -> None:
        await ack()
        if not await from_agent(services, body):
            return
        await client.views_open(
            trigger_id=body["trigger_id"], view=blocks.discard_modal(draft_id_of(body))
        )

    @app.action(blocks.REGENERATE)
    async def regenerate(ack: AsyncAck, body: dict[str, Any], client: Any) -> None:
        await ack()
        if not await from_agent(services, body):
            return
        draft_id = draft_id_of(body)
        tone = body["actions"][0]["selected_option"]["value"]
        if tone == blocks.CUSTOM_TONE:
            await client.views_open(
                trigger_id=body["trigger_id"], view=blocks.guidance_modal(draft_id)
            )
            return
        await enqueue_regenerate(
            services, worker, draft_id=draft_id, user_id=body["user"]["id"], tone=tone
        )
        await tell(services, body, f"Regenerating the draft in a {tone} tone…")

    @app.action(blocks.CHOOSE_OFFERS)
    async def choose_offers(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        if not await from_agent(services, body):
            return
        draft_id = draft_id_of(body)
        draft = await store.get_draft(draft_id=draft_id)
        if draft is None or draft.status != "pending":
            await tell(services, body, "This draft can no longer be changed.")
            return
        picked = [o["value"] for o in body["actions"][0].get("selected_options") or []]
        offers = offers_by_id(services.playbook.current(), picked, draft.offers)
        await store.set_offers(draft_id=draft_id, user_id=body["user"]["id"], offers=offers)
        metrics.DECISIONS.labels(action="choose_offer").inc()
        await refresh_card(services, draft_id)

    @app.action(blocks.RETRY)
    async def retry(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        if not await from_agent(services, body):
            return
        draft_id = draft_id_of(body)
        draft = await store.restart_draft(draft_id=draft_id)
        if draft is None:
            await tell(services, body, "This draft is not waiting for a retry.")
            return
        await store.enqueue(kind="draft", complaint_id=draft.complaint_id, payload={"force": True})
        # Show "Drafting…" before waking the worker: a fast model could otherwise fill the
        # card first and this older render would then overwrite it, buttons and all.
        await refresh_card(services, draft_id)
        worker.wake()


async def enqueue_regenerate(
    services: Services,
    worker: JobWorker,
    *,
    draft_id: int,
    user_id: str,
    tone: str | None = None,
    guidance: str | None = None,
) -> None:
    draft = await services.store.get_draft(draft_id=draft_id)
    await services.store.enqueue(
        kind="regenerate",
        complaint_id=draft.complaint_id if draft else None,
        draft_id=draft_id,
        payload={"draft_id": draft_id, "tone": tone, "guidance": guidance, "user_id": user_id},
    )
    await services.store.record_decision(
        draft_id=draft_id,
        user_id=user_id,
        action="regenerate",
        detail={"tone": tone, "guidance": guidance},
    )
    metrics.DECISIONS.labels(action="regenerate").inc()
    worker.wake()

"""Modal submissions: the edited reply, the discard reason, regenerate guidance."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from app import metrics
from app.domain.drafting import offers_by_id
from app.slack import blocks
from app.slack.cards import refresh_card
from app.slack.listeners.actions import NOT_AN_AGENT, enqueue_regenerate
from app.slack.services import Services
from app.slack.worker import JobWorker


def _draft_id(body: dict[str, Any]) -> int:
    return int(json.loads(body["view"]["private_metadata"])["draft_id"])


def _values(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return body["view"]["state"]["values"]  # type: ignore[no-any-return]


async def _is_agent(services: Services, body: dict[str, Any]) -> bool:
    user = body.get("user") or {}
    return await services.agents.is_agent(user.get("id", ""), team_id=user.get("team_id"))


def register(app: AsyncApp, services: Services, worker: JobWorker) -> None:
    store = services.store

    @app.view(blocks.EDIT_VIEW)
    async def edited(ack: AsyncAck, body: dict[str, Any]) -> None:
        values = _values(body)
        parts = [
            values[key]["text"]["value"] or ""
            for key in sorted(
                (k for k in values if k.startswith("reply_")), key=lambda k: int(k.split("_")[1])
            )
        ]
        text = "\n".join(p.strip("\n") for p in parts).strip()
        if not text:
            await ack(response_action="errors", errors={"reply_0": "The reply cannot be empty."})
            return
        if not await _is_agent(services, body):
            await ack(response_action="errors", errors={"reply_0": NOT_AN_AGENT})
            return
        await ack()
        draft_id, user_id = _draft_id(body), body["user"]["id"]
        draft = await store.get_draft(draft_id=draft_id)
        if draft is None:
            return
        picked = [
            o["value"]
            for o in (values.get("offers", {}).get("offers", {}).get("selected_options") or [])
        ]
        offers = offers_by_id(services.playbook.current(), picked, draft.offers)
        if await store.record_edit(
            draft_id=draft_id, user_id=user_id, new_text=text, offers=offers
        ):
            metrics.DECISIONS.labels(action="edit").inc()
        await refresh_card(services, draft_id)

    @app.view(blocks.DISCARD_VIEW)
    async def discarded(ack: AsyncAck, body: dict[str, Any]) -> None:
        if not await _is_agent(services, body):
            await ack(response_action="errors", errors={"reason": NOT_AN_AGENT})
            return
        await ack()
        values = _values(body)
        choice = (values["reason"]["choice"].get("selected_option") or {}).get("value", "other")
        note = (values.get("note", {}).get("text", {}).get("value") or "").strip()
        reason = blocks.DISCARD_REASONS.get(choice, "Other") + (f": {note}" if note else "")
        draft_id = _draft_id(body)
        if await store.discard(draft_id=draft_id, user_id=body["user"]["id"], reason=reason):
            metrics.DECISIONS.labels(action="discard").inc()
        await refresh_card(services, draft_id)

    @app.view(blocks.GUIDANCE_VIEW)
    async def guided(ack: AsyncAck, body: dict[str, Any]) -> None:
        if not await _is_agent(services, body):
            await ack(response_action="errors", errors={"guidance": NOT_AN_AGENT})
            return
        await ack()
        guidance = (_values(body)["guidance"]["text"]["value"] or "").strip()
        await enqueue_regenerate(
            services,
            worker,
            draft_id=_draft_id(body),
            user_id=body["user"]["id"],
            guidance=guidance,
        )

"""Modal submissions: the edited reply, the discard reason, regenerate guidance."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from app.slack import modals
from app.slack.deps import ListenerDeps


def _draft_id(body: dict[str, Any]) -> int:
    return int(json.loads(body["view"]["private_metadata"])["draft_id"])


def _values(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return body["view"]["state"]["values"]  # type: ignore[no-any-return]


def edited_text(values: dict[str, dict[str, Any]]) -> str:
    """The reply as the agent left it; long drafts span several inputs."""
    keys = sorted((k for k in values if k.startswith("reply_")), key=lambda k: int(k.split("_")[1]))
    parts = [values[key]["text"]["value"] or "" for key in keys]
    return "\n".join(p.strip("\n") for p in parts).strip()


def register(app: AsyncApp, deps: ListenerDeps) -> None:
    desk = deps.desk

    @app.view(modals.EDIT_VIEW)
    async def edited(ack: AsyncAck, body: dict[str, Any]) -> None:
        values = _values(body)
        text = edited_text(values)
        if not text:
            await ack(response_action="errors", errors={"reply_0": "The reply cannot be empty."})
            return
        await ack()
        offers = values.get("offers", {}).get("offers", {}).get("selected_options") or []
        await desk.revise.edit(
            draft_id=_draft_id(body),
            user_id=body["user"]["id"],
            text=text,
            offer_ids=[o["value"] for o in offers],
        )

    @app.view(modals.DISCARD_VIEW)
    async def discarded(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        values = _values(body)
        choice = (values["reason"]["choice"].get("selected_option") or {}).get("value", "other")
        note = (values.get("note", {}).get("text", {}).get("value") or "").strip()
        reason = modals.DISCARD_REASONS.get(choice, "Other") + (f": {note}" if note else "")
        await desk.discard(draft_id=_draft_id(body), user_id=body["user"]["id"], reason=reason)

    @app.view(modals.GUIDANCE_VIEW)
    async def guided(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        guidance = (_values(body)["guidance"]["text"]["value"] or "").strip()
        await desk.regenerate.request(
            draft_id=_draft_id(body), user_id=body["user"]["id"], guidance=guidance
        )
        desk.jobs.wake()

    @app.view(modals.OVERRIDE_VIEW)
    async def overridden(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        reason = (_values(body)["reason"]["text"]["value"] or "").strip()
        await desk.revise.override(
            draft_id=_draft_id(body), user_id=body["user"]["id"], reason=reason
        )

"""The incident card's controls and ``/tactful incident``: parse, call the use case, answer.

The agent guard has already refused anyone who is not one of our agents.
The store decides every race (one "Approve for all" wins; pull-outs and
merges take the incidents' lock), so a double click changes nothing twice.
"""

from __future__ import annotations

import json
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from app.domain.ports import LLMError
from app.domain.secrets import mask_credentials
from app.slack import incident_blocks
from app.slack.deps import ListenerDeps
from app.usecases.incidents import IncidentDesk

OFF = (
    "Incident grouping is off here. Set TACTFUL_INCIDENT_MIN_SIZE (3 is a good start) "
    "and restart tactful."
)


def incident_id_of(body: dict[str, Any]) -> int:
    action = body["actions"][0]
    head = str(action.get("value", "")).split(":", 1)[0]
    if head.isdigit():
        return int(head)
    return int(str(action["block_id"]).rsplit("_", 1)[1])


def register(app: AsyncApp, deps: ListenerDeps) -> None:
    async def tell(client: AsyncWebClient, body: dict[str, Any], text: str) -> None:
        channel = (body.get("channel") or {}).get("id") or deps.review_channel
        await client.chat_postEphemeral(channel=channel, user=body["user"]["id"], text=text)

    def desk_or_none() -> IncidentDesk | None:
        incidents = deps.desk.incidents
        return incidents if incidents is not None and incidents.enabled else None

    @app.action(incident_blocks.APPROVE_ALL)
    async def approve_all(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        incidents = desk_or_none()
        if incidents is None:
            await tell(client, body, OFF)
            return
        _, _, seen = str(body["actions"][0].get("value", "")).partition(":")
        refused = await incidents.approve_all(
            incident_id=incident_id_of(body), user_id=body["user"]["id"], seen=seen or None
        )
        if refused:
            await tell(client, body, refused)
        else:
            deps.desk.jobs.wake()

    @app.action(incident_blocks.PULL_OUT)
    async def pull_out(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        incidents = desk_or_none()
        if incidents is None:
            return
        picked = [int(o["value"]) for o in body["actions"][0].get("selected_options") or []]
        taken = await incidents.pull_out(incident_id=incident_id_of(body), complaint_ids=picked)
        deps.desk.jobs.wake()
        if not taken:
            await tell(client, body, "Nothing was pulled out: the incident is no longer open.")
        else:
            await tell(client, body, f"Pulled out {len(taken)}: each now has a card of its own.")

    @app.action(incident_blocks.MERGE)
    async def merge(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        incidents = desk_or_none()
        if incidents is None:
            return
        into = int(body["actions"][0]["selected_option"]["value"])
        if not await incidents.merge(incident_id=incident_id_of(body), into_id=into):
            await tell(client, body, "These incidents cannot be merged: both must still be open.")

    @app.action(incident_blocks.DESCRIBE)
    async def describe(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        incident_id = incident_id_of(body)
        # trigger_id expires 3 s after the click: one short read, then the modal.
        incident = await deps.store.get_incident(incident_id=incident_id)
        await client.views_open(
            trigger_id=body["trigger_id"],
            view=incident_blocks.describe_modal(incident_id, incident.context if incident else None),
        )

    @app.view(incident_blocks.DESCRIBE_VIEW)
    async def described(ack: AsyncAck, body: dict[str, Any]) -> None:
        text = (body["view"]["state"]["values"]["description"]["text"]["value"] or "").strip()
        if not text:
            await ack(response_action="errors", errors={"description": "Say what is going on."})
            return
        await ack()
        incidents = desk_or_none()
        if incidents is not None:
            incident_id = int(json.loads(body["view"]["private_metadata"])["incident_id"])
            await incidents.describe(
                incident_id=incident_id, description=text, user_id=body["user"]["id"]
            )


async def declare_from_command(
    deps: ListenerDeps, ack: AsyncAck, respond: AsyncRespond, text: str, *, user_id: str
) -> None:
    """``/tactful incident <description>``: matching complaints join it; drafts use the text."""
    incidents = deps.desk.incidents
    if incidents is None or not incidents.enabled:
        await ack(text=OFF, response_type="ephemeral")
        return
    if not text:
        await ack(
            text="Describe it after the command: `/tactful incident carrier outage in the "
            "north, ETA Thursday`.",
            response_type="ephemeral",
        )
        return
    await ack(text="Declaring the incident…", response_type="ephemeral")
    try:
        incident_id = await incidents.declare(description=text, user_id=user_id)
    except LLMError as exc:
        await respond(
            text=f"Could not declare the incident: {mask_credentials(str(exc))}. Try again.",
            response_type="ephemeral",
        )
        return
    await respond(
        text=f"Incident #{incident_id} declared: its card is in <#{deps.review_channel}>, and "
        "drafts for matching complaints will use your description.",
        response_type="ephemeral",
    )

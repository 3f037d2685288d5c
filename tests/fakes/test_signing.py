"""Signed Slack requests: slack_sdk verifies them and Bolt routes every payload kind."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from .signing import (
    SIGNING_SECRET,
    block_actions_body,
    event_callback_body,
    message_event,
    message_shortcut_body,
    plain_text_values,
    sign,
    slash_command_body,
    view_submission_body,
)
from .slack_api import FakeSlack

SUPPORT, REVIEW = "C0SUPPORT", "C0REVIEW"


def bolt_request(body: bytes, headers: dict[str, str]) -> AsyncBoltRequest:
    as_bolt_wants: dict[str, str | Sequence[str]] = dict(headers)
    return AsyncBoltRequest(body=body.decode(), headers=as_bolt_wants)


def test_signature_verifies_with_slack_sdk() -> None:
    body = '{"type":"event_callback"}'
    verifier = SignatureVerifier(SIGNING_SECRET)
    headers = sign(body, SIGNING_SECRET)
    assert verifier.is_valid_request(body, headers)
    assert verifier.is_valid_request(body.encode(), sign(body.encode(), SIGNING_SECRET))
    assert not verifier.is_valid_request(body + " ", headers)
    assert not verifier.is_valid_request(body, sign(body, "another-secret"))
    assert not verifier.is_valid_request(body, sign(body, SIGNING_SECRET, int(time.time()) - 600))


async def test_bolt_routes_every_signed_payload_kind(slack: FakeSlack) -> None:
    app = AsyncApp(
        client=AsyncWebClient(token="xoxb-test", base_url=slack.url),
        signing_secret=SIGNING_SECRET,
        process_before_response=True,
    )
    seen: dict[str, dict[str, Any]] = {}

    @app.event("message")
    async def on_message(event: dict[str, Any], context: Any, request: AsyncBoltRequest) -> None:
        seen["event"] = {
            "text": event["text"],
            "team": context.team_id,
            "retry": request.headers["x-slack-retry-num"],
        }

    @app.action("approve")
    async def on_approve(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        seen["action"] = {
            "value": action["value"],
            "team": body["user"]["team_id"],
            "ts": body["container"]["message_ts"],
        }

    @app.action("tone")
    async def on_tone(ack: Any, action: dict[str, Any]) -> None:
        await ack()
        seen["tone"] = {"picked": action["selected_option"]["value"]}

    @app.view("edit_draft")
    async def on_submit(ack: Any, view: dict[str, Any]) -> None:
        await ack()
        seen["view"] = {
            "meta": view["private_metadata"],
            "text": view["state"]["values"]["reply"]["text"]["value"],
        }

    @app.shortcut("draft_reply")
    async def on_shortcut(ack: Any, shortcut: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        opened = await client.views_open(
            trigger_id=shortcut["trigger_id"],
            view={
                "type": "modal",
                "callback_id": "edit_draft",
                "title": {"type": "plain_text", "text": "Draft"},
                "blocks": [],
            },
        )
        seen["shortcut"] = {"text": shortcut["message"]["text"], "view": opened["view"]["id"]}

    @app.command("/tactful")
    async def on_command(ack: Any, command: dict[str, Any]) -> None:
        await ack()
        seen["command"] = {"text": command["text"], "channel": command["channel_id"]}

    requests = {
        "event": event_callback_body(
            message_event(SUPPORT, "late again", user="UCUST", ts="1.000100"),
            event_id="Ev1",
            retry_num=1,
        ),
        "action": block_actions_body(
            action_id="approve",
            value="draft-7",
            user_id="UAGENT",
            channel_id=REVIEW,
            message_ts="2.000100",
        ),
        "tone": block_actions_body(
            action_id="tone",
            selected_option="formal",
            user_id="UAGENT",
            channel_id=REVIEW,
            message_ts="2.000100",
        ),
        "view": view_submission_body(
            {"callback_id": "edit_draft", "private_metadata": "draft-7"},
            user_id="UAGENT",
            values=plain_text_values({"reply": {"text": "Edited reply"}}),
        ),
        "shortcut": message_shortcut_body(
            callback_id="draft_reply",
            user_id="UAGENT",
            channel_id=SUPPORT,
            message={"ts": "1.000100", "text": "late again", "user": "UCUST"},
        ),
        "command": slash_command_body("/tactful", "draft my parcel is late", "UAGENT", SUPPORT),
    }
    for name, (body, headers) in requests.items():
        response = await app.async_dispatch(bolt_request(body, headers))
        assert response.status == 200, (name, response.body)

    assert seen == {
        "event": {"text": "late again", "team": "T0AGENTS", "retry": ["1"]},
        "action": {"value": "draft-7", "team": "T0AGENTS", "ts": "2.000100"},
        "tone": {"picked": "formal"},
        "view": {"meta": "draft-7", "text": "Edited reply"},
        "shortcut": {"text": "late again", "view": seen["shortcut"]["view"]},
        "command": {"text": "draft my parcel is late", "channel": SUPPORT},
    }
    assert seen["shortcut"]["view"] in slack.views

    body, headers = slash_command_body("/tactful", "x", "UAGENT", SUPPORT, secret="wrong-secret")
    forged = await app.async_dispatch(bolt_request(body, headers))
    assert forged.status == 401

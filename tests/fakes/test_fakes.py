"""The fakes, proved with the real clients: slack_sdk, Bolt and the openai SDK."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from app.domain.models import BriefOutput, DraftOutput, Step, TriageOutput

from .openai_api import FakeOpenAI
from .signing import (
    SIGNING_SECRET,
    block_actions_body,
    event_callback_body,
    message_shortcut_body,
    new_trigger_id,
    plain_text_values,
    sign,
    slash_command_body,
    view_submission_body,
)
from .slack_api import FakeSlack

REPO = Path(__file__).resolve().parents[2]
SUPPORT, REVIEW = "C0SUPPORT", "C0REVIEW"


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
def client(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token="xoxb-test", base_url=slack.url)


# --- Slack Web API -------------------------------------------------------------


async def test_bot_posts_a_card_then_updates_it(slack: FakeSlack, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(
        channel=REVIEW, text="Draft ready", blocks=[section("v1")]
    )
    ts = posted["ts"]
    assert posted["channel"] == REVIEW and posted["message"]["bot_id"] == slack.bot_id

    updated = await client.chat_update(channel=REVIEW, ts=ts, text="Sent", blocks=[section("v2")])

    assert updated["ts"] == ts
    assert [m["blocks"][0]["text"]["text"] for m in slack.messages[REVIEW]] == ["v2"]
    assert [c.method for c in slack.calls] == ["chat.postMessage", "chat.update"]
    assert slack.calls[0].args["blocks"] == [section("v1")]
    assert slack.calls[1].ok and slack.calls[1].response["message"]["edited"]["user"] == "UBOT"


async def test_generated_timestamps_increase_after_seeded_history(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    slack.add_message(SUPPORT, "1800000000.000500", "My parcel never came", user="UCUST")
    first = await client.chat_postMessage(channel=SUPPORT, text="a", thread_ts="1800000000.000500")
    second = await client.chat_postMessage(channel=SUPPORT, text="b", thread_ts="1800000000.000500")
    assert "1800000000.000500" < first["ts"] < second["ts"]
    assert first["message"]["parent_user_id"] == "UCUST"


async def test_form_encoded_blocks_arrive_as_a_list(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    await client.api_call(
        "chat.postMessage", data={"channel": REVIEW, "blocks": json.dumps([section("from a form")])}
    )
    assert slack.calls[-1].args["blocks"] == [section("from a form")]
    assert slack.messages[REVIEW][-1]["blocks"] == [section("from a form")]


async def test_only_the_bot_token_is_accepted(slack: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as wrong:
        await AsyncWebClient(token="xoxb-stolen", base_url=slack.url).auth_test()
    with pytest.raises(SlackApiError) as missing:
        await AsyncWebClient(base_url=slack.url).auth_test()
    assert wrong.value.response["error"] == "invalid_auth"
    assert missing.value.response["error"] == "not_authed"
    assert (await AsyncWebClient(token="xoxb-test", base_url=slack.url).auth_test())[
        "user_id"
    ] == "UBOT"


async def test_the_bot_cannot_edit_what_it_did_not_post(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    slack.add_message(SUPPORT, "1700000001.000100", "customer text", user="UCUST")
    with pytest.raises(SlackApiError) as foreign:
        await client.chat_update(channel=SUPPORT, ts="1700000001.000100", text="hijack")
    with pytest.raises(SlackApiError) as gone:
        await client.chat_update(channel=SUPPORT, ts="1700000009.000100", text="x")
    assert foreign.value.response["error"] == "cant_update_message"
    assert gone.value.response["error"] == "message_not_found"


async def test_reading_a_long_thread_takes_three_pages(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    parent = "1700000100.000100"
    slack.add_message(SUPPORT, parent, "message 0", user="UCUST")
    for n in range(1, 250):
        slack.add_message(
            SUPPORT, f"{1700000100 + n}.000100", f"message {n}", user="UCUST", thread_ts=parent
        )

    texts: list[str] = []
    pages = 0
    cursor: str | None = None
    while True:
        page = await client.conversations_replies(
            channel=SUPPORT, ts=parent, limit=100, cursor=cursor
        )
        pages += 1
        texts += [m["text"] for m in page["messages"]]
        cursor = page["response_metadata"]["next_cursor"]
        assert page["has_more"] == bool(cursor)
        if not cursor:
            break

    assert pages == 3
    assert texts == [f"message {n}" for n in range(250)]
    assert (await client.conversations_replies(channel=SUPPORT, ts=parent, limit=1))["messages"][0][
        "reply_count"
    ] == 249


async def test_history_lists_top_level_messages_newest_first(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    slack.add_message(SUPPORT, "1700000001.000100", "first", user="U1")
    slack.add_message(
        SUPPORT, "1700000002.000100", "reply", user="U2", thread_ts="1700000001.000100"
    )
    slack.add_message(SUPPORT, "1700000003.000100", "second", user="U1")
    history = await client.conversations_history(channel=SUPPORT)
    assert [m["text"] for m in history["messages"]] == ["second", "first"]
    assert history["messages"][1]["reply_count"] == 1


async def test_rate_limited_post_is_retried_after_retry_after(
    slack: FakeSlack,
) -> None:
    slack.fail_next("chat.postMessage", status=429, retry_after=0)
    client = AsyncWebClient(
        token="xoxb-test",
        base_url=slack.url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
    )

    await client.chat_postMessage(
        channel=SUPPORT, text="Sorry about the wait", thread_ts="1.000100"
    )

    attempts = slack.calls_to("chat.postMessage")
    assert [(a.status, a.error) for a in attempts] == [(429, "ratelimited"), (200, None)]
    assert len(slack.messages[SUPPORT]) == 1  # the refused attempt stored nothing


async def test_rate_limit_without_retry_handler_reaches_the_caller(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    slack.fail_next("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as refused:
        await client.chat_postMessage(channel=SUPPORT, text="x")
    assert refused.value.response.status_code == 429
    assert refused.value.response.headers["Retry-After"] == "7"


async def test_server_errors_and_error_codes_are_consumed_in_order(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    slack.fail_next("chat.postMessage", status=503)
    slack.fail_next("chat.postMessage", error="channel_not_found")
    with pytest.raises(SlackApiError) as outage:
        await client.chat_postMessage(channel=SUPPORT, text="x")
    with pytest.raises(SlackApiError) as refused:
        await client.chat_postMessage(channel=SUPPORT, text="x")
    await client.chat_postMessage(channel=SUPPORT, text="third time lucky")
    assert outage.value.response.status_code == 503
    assert refused.value.response["error"] == "channel_not_found"
    assert [m["text"] for m in slack.messages[SUPPORT]] == ["third time lucky"]


async def test_slack_size_limits_are_enforced(slack: FakeSlack, client: AsyncWebClient) -> None:
    refusals: dict[str, str] = {}
    attempts: dict[str, dict[str, Any]] = {
        "long text": {"text": "x" * 40_001},
        "51 blocks": {"text": "t", "blocks": [section(f"b{i}") for i in range(51)]},
        "long section": {"text": "t", "blocks": [section("x" * 3001)]},
        "long header": {
            "text": "t",
            "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
        },
        "long button value": {
            "text": "t",
            "blocks": [
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "button",
                            "action_id": "approve",
                            "text": {"type": "plain_text", "text": "Approve & send"},
                            "value": "v" * 2001,
                        }
                    ],
                }
            ],
        },
    }
    for name, kwargs in attempts.items():
        with pytest.raises(SlackApiError) as refused:
            await client.chat_postMessage(channel=REVIEW, **kwargs)
        refusals[name] = refused.value.response["error"]

    assert refusals == {
        "long text": "msg_too_long",
        "51 blocks": "invalid_blocks",
        "long section": "invalid_blocks",
        "long header": "invalid_blocks",
        "long button value": "invalid_blocks",
    }
    assert "json-pointer:/blocks/0/text/text" in slack.calls[2].response["errors"][0]
    assert REVIEW not in slack.messages
    await client.chat_postMessage(
        channel=REVIEW, text="x" * 40_000, blocks=[section("y" * 3000)] * 50
    )


async def test_who_is_who_in_the_workspace(slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.add_user("UAGENT", name="ana")
    slack.add_user("UEXT", name="eve", team_id="T0CUSTOMER", is_stranger=True)
    slack.add_usergroup("S0AGENTS", ["UAGENT"])
    slack.add_channel("C0SHARED", is_ext_shared=True)

    agent = (await client.users_info(user="UAGENT"))["user"]
    outsider = (await client.users_info(user="UEXT"))["user"]
    assert (agent["team_id"], agent["profile"]["display_name"], agent["is_stranger"]) == (
        "T0AGENTS",
        "ana",
        False,
    )
    assert (outsider["team_id"], outsider["is_stranger"]) == ("T0CUSTOMER", True)
    assert (await client.usergroups_users_list(usergroup="S0AGENTS"))["users"] == ["UAGENT"]
    assert (await client.conversations_info(channel="C0SHARED"))["channel"]["is_ext_shared"] is True
    assert (await client.conversations_info(channel=SUPPORT))["channel"]["is_ext_shared"] is False
    for call, error in [
        (client.users_info(user="UNOBODY"), "user_not_found"),
        (client.usergroups_users_list(usergroup="S0NONE"), "no_such_subteam"),
    ]:
        with pytest.raises(SlackApiError) as refused:
            await call
        assert refused.value.response["error"] == error


async def test_modals_need_a_fresh_trigger(slack: FakeSlack, client: AsyncWebClient) -> None:
    view = {
        "type": "modal",
        "callback_id": "edit_draft",
        "title": {"type": "plain_text", "text": "Edit the reply"},
        "blocks": [section("draft")],
    }
    with pytest.raises(SlackApiError) as no_trigger:
        await client.api_call("views.open", json={"view": view})
    stale = f"{int((time.time() - 10) * 1000)}.1.abcdef"
    with pytest.raises(SlackApiError) as expired:
        await client.views_open(trigger_id=stale, view=view)
    opened = await client.views_open(trigger_id=new_trigger_id(), view=view)
    view_id = opened["view"]["id"]
    updated = await client.views_update(view_id=view_id, view={**view, "blocks": [section("v2")]})

    assert no_trigger.value.response["error"] == "invalid_arguments"
    assert expired.value.response["error"] == "expired_trigger_id"
    assert updated["view"]["id"] == view_id
    assert slack.views[view_id]["blocks"] == [section("v2")]
    assert opened["view"]["callback_id"] == "edit_draft"


async def test_ephemeral_permalink_reaction_and_unknown_method(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    ephemeral = await client.chat_postEphemeral(channel=SUPPORT, user="UAGENT", text="only you")
    link = await client.chat_getPermalink(channel=SUPPORT, message_ts="1700000000.000100")
    await client.reactions_add(channel=SUPPORT, name="eyes", timestamp="1700000000.000100")
    with pytest.raises(SlackApiError) as twice:
        await client.reactions_add(channel=SUPPORT, name="eyes", timestamp="1700000000.000100")
    with pytest.raises(SlackApiError) as unknown:
        await client.api_call("chat.scheduleMessage", json={"channel": SUPPORT})

    assert slack.ephemerals[0]["user"] == "UAGENT" and ephemeral["message_ts"]
    assert SUPPORT not in slack.messages  # ephemeral messages are not channel history
    assert link["permalink"] == f"https://fake.slack.test/archives/{SUPPORT}/p1700000000000100"
    assert twice.value.response["error"] == "already_reacted"
    assert unknown.value.response["error"] == "unknown_method"
    assert slack.calls[-1].method == "chat.scheduleMessage"


async def test_response_url_posts_are_recorded(slack: FakeSlack) -> None:
    hook = AsyncWebhookClient(slack.response_url("cmd-1"))
    response = await hook.send(text="Here is your draft", response_type="ephemeral")
    assert response.status_code == 200
    (call,) = slack.calls_to("response_url")
    assert call.args == {
        "text": "Here is your draft",
        "response_type": "ephemeral",
        "hook": "cmd-1",
    }


async def test_wait_for_sees_calls_made_in_the_background(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    async def agent_approves_later() -> None:
        await asyncio.sleep(0.05)
        await client.chat_postMessage(channel=SUPPORT, text="reply", thread_ts="1.000100")

    task = asyncio.create_task(agent_approves_later())
    (call,) = await slack.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == SUPPORT)
    await task
    assert call.ok and call.args["text"] == "reply"
    with pytest.raises(AssertionError, match="1 x chat.update"):
        await slack.wait_for("chat.update", timeout=0.05)


# --- signing and Bolt -----------------------------------------------------------


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
            {
                "type": "message",
                "channel": SUPPORT,
                "user": "UCUST",
                "text": "late again",
                "ts": "1.000100",
            },
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
        response = await app.async_dispatch(AsyncBoltRequest(body=body.decode(), headers=headers))
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
    forged = await app.async_dispatch(AsyncBoltRequest(body=body.decode(), headers=headers))
    assert forged.status == 401


# --- OpenAI ---------------------------------------------------------------------


def schema_format(model: type[Any]) -> dict[str, Any]:
    return {
        "type": "json_schema",
        "json_schema": {
            "name": model.__name__,
            "schema": model.model_json_schema(),
            "strict": True,
        },
    }


def complaint(text: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": "You triage customer messages for a support team."},
        {"role": "user", "content": f"<customer_message>\n{text}\n</customer_message>"},
    ]


@pytest.fixture
async def llm() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as fake:
        yield fake


def openai_client(fake: FakeOpenAI, retries: int = 0) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=fake.url, api_key="x", max_retries=retries)


async def test_triage_is_a_valid_complaint_with_a_short_summary(llm: FakeOpenAI) -> None:
    text = "My order #1234 was due last Monday and it still has not arrived. " * 3
    async with openai_client(llm) as client:
        completion = await client.chat.completions.create(
            model="gpt-test", messages=complaint(text), response_format=schema_format(TriageOutput)
        )

    triage = TriageOutput.model_validate_json(completion.choices[0].message.content or "")
    assert (triage.kind, triage.needs_reply, triage.category) == ("complaint", True, "delivery")
    assert triage.summary == " ".join(text.split())[:80]
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.total_tokens > 0
    assert llm.requests[0]["model"] == "gpt-test"


async def test_praise_is_not_a_complaint(llm: FakeOpenAI) -> None:
    async with openai_client(llm) as client:
        completion = await client.chat.completions.create(
            model="m",
            messages=complaint("PRAISE-ONLY you were great"),
            response_format=schema_format(TriageOutput),
        )
    triage = TriageOutput.model_validate_json(completion.choices[0].message.content or "")
    assert (triage.kind, triage.needs_reply) == ("praise", False)


async def test_draft_parses_with_the_sdk_and_quotes_its_own_reply(llm: FakeOpenAI) -> None:
    async with openai_client(llm) as client:
        completion = await client.chat.completions.parse(
            model="m",
            messages=complaint("Still waiting for my parcel"),
            response_format=DraftOutput,
        )
    draft = completion.choices[0].message.parsed
    assert draft is not None
    assert {s.step for s in draft.steps} == set(Step)
    assert all(s.quote in draft.reply for s in draft.steps)
    assert [(o.offer_id, o.amount) for o in draft.offers] == [
        ("express_reship", None),
        ("store_credit", 20),
    ]
    assert llm.requests[0]["response_format"]["json_schema"]["name"] == "DraftOutput"


async def test_json_object_mode_with_a_schema_gets_a_brief(llm: FakeOpenAI) -> None:
    async with openai_client(llm) as client:
        completion = await client.chat.completions.create(
            model="m",
            messages=[
                {"role": "user", "content": "Thread: customer asked three times for a refund."}
            ],
            response_format={"type": "json_object", "schema": BriefOutput.model_json_schema()},  # type: ignore[typeddict-unknown-key]
        )
    brief = BriefOutput.model_validate_json(completion.choices[0].message.content or "")
    assert brief.issue.startswith("Thread: customer asked")
    assert brief.next_step


async def test_concurrent_requests_overlap_instead_of_queueing() -> None:
    async with FakeOpenAI(latency_s=0.5) as slow, openai_client(slow) as client:
        started = time.monotonic()
        await asyncio.gather(
            *(
                client.chat.completions.create(
                    model="m",
                    messages=complaint(f"complaint {n}"),
                    response_format=schema_format(TriageOutput),
                )
                for n in range(20)
            )
        )
        elapsed = time.monotonic() - started
    assert elapsed < 1.5
    assert slow.max_in_flight == 20 and len(slow.requests) == 20


async def test_injected_rate_limit_is_seen_then_retried(llm: FakeOpenAI) -> None:
    llm.fail_next(429, retry_after=0.05)
    async with openai_client(llm) as client:
        with pytest.raises(openai.RateLimitError):
            await client.chat.completions.create(model="m", messages=complaint("x"))
    llm.fail_next(503)
    async with openai_client(llm, retries=1) as client:
        completion = await client.chat.completions.create(
            model="m", messages=complaint("x"), response_format=schema_format(TriageOutput)
        )
    assert TriageOutput.model_validate_json(completion.choices[0].message.content or "")
    assert len(llm.requests) == 3


async def test_a_custom_responder_can_return_broken_output() -> None:
    async with (
        FakeOpenAI(responder=lambda request: "not json at all") as fake,
        openai_client(fake) as client,
    ):
        completion = await client.chat.completions.create(model="m", messages=complaint("x"))
    assert completion.choices[0].message.content == "not json at all"


# --- standalone processes -------------------------------------------------------


@pytest.fixture
def standalone() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        process.terminate()
        process.wait(timeout=5)


@pytest.mark.parametrize(
    ("module", "probe"),
    [
        ("tests.fakes.slack_api", "auth.test"),
        ("tests.fakes.openai_api", "models"),
    ],
)
async def test_fakes_run_as_their_own_process(
    standalone: list[subprocess.Popen[str]], module: str, probe: str
) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", module, "--port", "0", "--print-url"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    standalone.append(process)
    assert process.stdout is not None
    url = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), timeout=10)
    url = url.strip()
    assert url.startswith("http://127.0.0.1:")
    if probe == "auth.test":
        assert (await AsyncWebClient(token="xoxb-test", base_url=url).auth_test())[
            "team_id"
        ] == "T0AGENTS"
    else:
        async with openai.AsyncOpenAI(base_url=url, api_key="x", max_retries=0) as client:
            assert [m.id async for m in client.models.list()] == ["fake-model"]

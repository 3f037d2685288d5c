"""FakeSlack proved with the real slack_sdk client, and both fakes as standalone processes."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import openai
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from .signing import new_trigger_id
from .slack_api import FakeSlack

REPO = Path(__file__).resolve().parents[2]
SUPPORT, REVIEW = "C0SUPPORT", "C0REVIEW"


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


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
        await client.api_call("chat.meMessage", json={"channel": SUPPORT})

    assert slack.ephemerals[0]["user"] == "UAGENT" and ephemeral["message_ts"]
    assert SUPPORT not in slack.messages  # ephemeral messages are not channel history
    assert link["permalink"] == f"https://fake.slack.test/archives/{SUPPORT}/p1700000000000100"
    assert twice.value.response["error"] == "already_reacted"
    assert unknown.value.response["error"] == "unknown_method"
    assert slack.calls[-1].method == "chat.meMessage"


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


# --- standalone processes -------------------------------------------------------


@pytest.fixture
async def standalone() -> AsyncIterator[list[asyncio.subprocess.Process]]:
    started: list[asyncio.subprocess.Process] = []
    yield started
    for process in started:
        process.terminate()
        await asyncio.wait_for(process.wait(), timeout=5)


async def start_process(
    standalone: list[asyncio.subprocess.Process], module: str, *args: str
) -> str:
    """Run ``python -m module --port 0 --print-url *args`` and return the URL it prints."""
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", module, "--port", "0", "--print-url", *args),
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    standalone.append(process)
    assert process.stdout is not None and process.stderr is not None
    url = (await asyncio.wait_for(process.stdout.readline(), timeout=10)).decode().strip()
    if not url:
        pytest.fail((await process.stderr.read()).decode())
    return url


async def test_slack_runs_as_its_own_process_with_a_seed_file(
    standalone: list[asyncio.subprocess.Process], tmp_path: Path
) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"users": [{"id": "UAGENT", "name": "ana"}]}))
    url = await start_process(standalone, "tests.fakes.slack_api", "--seed", str(seed))
    client = AsyncWebClient(token="xoxb-test", base_url=url)

    assert url.startswith("http://127.0.0.1:") and url.endswith("/api/")
    assert (await client.auth_test())["team_id"] == "T0AGENTS"
    assert (await client.users_info(user="UAGENT"))["user"]["name"] == "ana"


async def test_openai_runs_as_its_own_process(standalone: list[asyncio.subprocess.Process]) -> None:
    url = await start_process(standalone, "tests.fakes.openai_api", "--latency", "0.01")
    async with openai.AsyncOpenAI(base_url=url, api_key="x", max_retries=0) as client:
        assert [m.id async for m in client.models.list()] == ["fake-model"]


async def test_a_running_fake_is_seeded_and_inspected_over_http(slack: FakeSlack) -> None:
    seed = {
        "users": [{"id": "UEXT", "name": "eve", "team_id": "T0OTHER", "is_stranger": True}],
        "usergroups": {"S0AGENTS": ["UAGENT"]},
        "channels": {"C0SHARED": {"is_ext_shared": True}},
        "messages": [{"channel": "C0SHARED", "ts": "1.000100", "text": "hello", "user": "UEXT"}],
    }
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{slack.base_url}/_fake/seed", json=seed) as response:
            assert response.status == 200
        client = AsyncWebClient(token="xoxb-test", base_url=slack.url)
        thread = await client.conversations_replies(channel="C0SHARED", ts="1.000100")
        async with http.get(f"{slack.base_url}/_fake/calls") as response:
            calls = (await response.json())["calls"]

    assert thread["messages"][0]["text"] == "hello"
    assert slack.workspace.users["UEXT"]["is_stranger"] is True
    assert [(c["method"], c["args"]["ts"], c["response"]["ok"]) for c in calls] == [
        ("conversations.replies", "1.000100", True)
    ]

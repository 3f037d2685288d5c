"""The Slack app manifest a team pastes into api.slack.com: everything the bot listens to is declared.

Checked both through ``tactful manifest`` (as a new team runs it) and through
``build_manifest``; the ids in it must be the ones the listeners route on.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from app.cli import cli
from app.slack.listeners.commands import COMMAND
from app.slack.listeners.shortcuts import DRAFT_SHORTCUT, SUMMARIZE_SHORTCUT
from app.slack.manifest import build_manifest

URL = "https://tactful.example.com"


def run_manifest(*args: str) -> str:
    result = CliRunner().invoke(cli, ["manifest", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_json_manifest_for_http_mode_sends_everything_to_slack_events() -> None:
    manifest = json.loads(run_manifest("--format", "json", "--url", URL + "/"))

    features, settings = manifest["features"], manifest["settings"]
    shortcuts = {s["callback_id"]: s for s in features["shortcuts"]}
    assert set(shortcuts) == {DRAFT_SHORTCUT, SUMMARIZE_SHORTCUT}
    assert shortcuts[DRAFT_SHORTCUT]["name"] == "Draft a reply"
    assert all(s["type"] == "message" for s in shortcuts.values())
    (command,) = features["slash_commands"]
    assert command["command"] == COMMAND == "/tactful"
    assert "draft" in command["usage_hint"] and "summarize" in command["usage_hint"]
    endpoint = f"{URL}/slack/events"
    assert command["url"] == endpoint
    assert settings["event_subscriptions"]["request_url"] == endpoint
    assert settings["interactivity"] == {"is_enabled": True, "request_url": endpoint}
    assert settings["socket_mode_enabled"] is False


def test_the_manifest_asks_for_the_events_and_scopes_the_bot_uses() -> None:
    manifest = build_manifest(url=URL)

    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert {"message.channels", "message.groups", "app_mention", "app_home_opened"} <= events
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {
        "app_mentions:read",
        "channels:history",
        "groups:history",
        "chat:write",
        "commands",
        "users:read",
        "usergroups:read",
    } <= scopes
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert manifest["features"]["bot_user"]["display_name"] == "tactful"


def _urls(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [u for k, v in value.items() for u in ([v] if k.endswith("url") else _urls(v))]
    if isinstance(value, list):
        return [u for item in value for u in _urls(item)]
    return []


def test_the_socket_mode_manifest_has_no_urls() -> None:
    manifest = yaml.safe_load(run_manifest("--socket"))

    assert manifest["settings"]["socket_mode_enabled"] is True
    assert manifest["settings"]["interactivity"] == {"is_enabled": True}
    assert _urls(manifest) == []
    assert manifest == build_manifest(socket_mode=True), "YAML and the builder agree"


def test_without_a_url_the_manifest_shows_where_to_put_one() -> None:
    manifest = build_manifest()

    assert set(_urls(manifest)) == {"https://YOUR-HOST/slack/events"}


@pytest.mark.parametrize("fmt", ["toml", "JSON "])
def test_an_unknown_format_is_refused(fmt: str) -> None:
    result = CliRunner().invoke(cli, ["manifest", "--format", fmt])

    assert result.exit_code != 0
    assert "json or yaml" in result.output

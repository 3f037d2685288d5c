"""Settings: one actionable line for a missing or bad value, secrets never shown."""

from __future__ import annotations

import pytest

from app.settings import Settings, SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    for name in (
        "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "OPENAI_API_KEY", "OPENAI_BASE_URL",
        "TACTFUL_SUPPORT_CHANNELS", "TACTFUL_AGENTS", "TACTFUL_REVIEW_CHANNEL", "TACTFUL_MAX_CONCURRENT_DRAFTS",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # type: ignore[arg-type]  # no stray .env


def test_list_settings_accept_commas_spaces_and_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TACTFUL_SUPPORT_CHANNELS", "C01AAA, C02BBB")
    monkeypatch.setenv("TACTFUL_AGENTS", '["U01AGENT", "S01GROUP"]')
    settings = load_settings()
    assert settings.support_channels == ["C01AAA", "C02BBB"]
    assert settings.agents == ["U01AGENT", "S01GROUP"]


def test_missing_settings_name_each_variable_and_how_to_set_it() -> None:
    settings = load_settings()
    with pytest.raises(SettingsError) as caught:
        settings.require("SLACK_BOT_TOKEN", "OPENAI_API_KEY", "TACTFUL_REVIEW_CHANNEL")
    lines = str(caught.value).splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("SLACK_BOT_TOKEN is not set: export SLACK_BOT_TOKEN=")
    assert "OAuth & Permissions" in lines[0]
    assert lines[1].startswith("OPENAI_API_KEY is not set")


def test_a_local_llm_server_needs_no_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://localhost:11434/v1")
    settings = load_settings()
    settings.require("OPENAI_API_KEY")
    assert settings.llm_api_key == "not-needed"


def test_a_team_that_only_relays_e_mails_needs_no_support_channels(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(SettingsError, match="or TACTFUL_RELAY_CHANNELS"):
        load_settings().require("TACTFUL_SUPPORT_CHANNELS")

    monkeypatch.setenv("TACTFUL_RELAY_CHANNELS", "C0RELAY1")
    load_settings().require("TACTFUL_SUPPORT_CHANNELS")


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("TACTFUL_MAX_CONCURRENT_DRAFTS", "lots", "TACTFUL_MAX_CONCURRENT_DRAFTS is invalid"),
        ("TACTFUL_SUPPORT_CHANNELS", "general", "not a channel ID: general"),
        ("TACTFUL_AGENTS", "ana@example.com", "not a user or user-group ID"),
        ("TACTFUL_DATABASE_URL", "mysql://x", "use sqlite:///path.db or postgresql://"),
        ("SLACK_BOT_TOKEN", "xoxp-user-token-abc", "a bot token starts with xoxb-"),
    ],
)
def test_a_bad_value_stops_with_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert "\n" not in message and name in message and expected in message
    if "TOKEN" in name:
        assert value not in message, "a secret is never echoed back"


def test_secrets_never_show_in_repr_or_str() -> None:
    settings = Settings(SLACK_BOT_TOKEN="xoxb-very-secret", OPENAI_API_KEY="sk-also-secret", SLACK_SIGNING_SECRET="shh-123")
    shown = repr(settings) + str(settings) + str(settings.model_dump())
    for secret in ("xoxb-very-secret", "sk-also-secret", "shh-123"):
        assert secret not in shown


def test_slack_api_url_gets_its_trailing_slash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9999/api")
    assert load_settings().slack_api_url == "http://127.0.0.1:9999/api/"

"""The `tactful` command as a manager or agent uses it in a terminal."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from tests.factories import PROMPTS_DIR, load_complaint_fixture
from tests.fakes.openai_api import BASE_URL, FakeOpenAI, fixture_reply

runner = CliRunner()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN",
                 "TACTFUL_SUPPORT_CHANNELS", "TACTFUL_REVIEW_CHANNEL", "TACTFUL_AGENTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TACTFUL_PROMPTS_DIR", str(PROMPTS_DIR))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def fake_llm(monkeypatch: pytest.MonkeyPatch, fake_openai: FakeOpenAI) -> FakeOpenAI:
    monkeypatch.setenv("OPENAI_BASE_URL", BASE_URL)
    fake_openai.responder = fixture_reply(load_complaint_fixture("ecommerce_late_gift"))
    return fake_openai


def test_prompts_check_passes_on_the_bundled_prompts(env: Path) -> None:
    result = runner.invoke(cli, ["prompts", "check"])
    assert result.exit_code == 0, result.output
    assert "draft" in result.output and "offers" in result.output and "version" in result.output


def test_prompts_check_reports_file_and_line_and_fails(env: Path) -> None:
    broken = env / "prompts"
    shutil.copytree(PROMPTS_DIR, broken)
    path = broken / "draft.prompt.md"
    lines = path.read_text().splitlines()
    body_start = lines.index("system:", 1)
    lines.insert(body_start + 2, "{{ customr_message }}")
    path.write_text("\n".join(lines) + "\n")

    result = runner.invoke(cli, ["prompts", "check", str(broken)])

    assert result.exit_code == 1
    assert f"draft.prompt.md:{body_start + 3}" in result.output
    assert "customr_message" in result.output


def test_draft_from_stdin_prints_draft_offers_checklist_and_flags(env: Path, fake_llm: FakeOpenAI) -> None:
    text = load_complaint_fixture("ecommerce_late_gift")["text"]
    result = runner.invoke(cli, ["draft", "-", "--channel-context", "Order 4821"], input=text)
    assert result.exit_code == 0, result.output
    for heading in ("Draft reply", "Offers", "Checklist", "Flags"):
        assert heading in result.output
    assert len(fake_llm.requests) == 1, "one call: triage and draft together"


def test_draft_json_is_machine_readable_and_tone_is_checked(env: Path, fake_llm: FakeOpenAI) -> None:
    complaint = env / "complaint.txt"
    complaint.write_text(load_complaint_fixture("ecommerce_late_gift")["text"])

    result = runner.invoke(cli, ["draft", str(complaint), "--json", "--tone", "formal"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["tone"] == "formal" and data["offers"] and "checklist" in data and len(data["prompt_version"]) == 12

    bad = runner.invoke(cli, ["draft", str(complaint), "--tone", "sarcastic"])
    assert bad.exit_code == 2 and "--tone must be one of" in bad.output


def test_draft_without_llm_settings_says_what_to_set(env: Path) -> None:
    result = runner.invoke(cli, ["draft", "-"], input="My parcel is late.")
    assert result.exit_code == 2
    assert "OPENAI_API_KEY is not set" in result.output


def test_draft_when_the_llm_is_down_exits_with_a_clear_message(
    env: Path, monkeypatch: pytest.MonkeyPatch, fake_llm: FakeOpenAI
) -> None:
    monkeypatch.setenv("TACTFUL_LLM_RETRY_DEADLINE", "0.5")
    fake_llm.fail_next(503, times=100)
    result = runner.invoke(cli, ["draft", "-"], input="My parcel is late.")
    assert result.exit_code == 3
    assert "503" in result.output


def test_serve_without_settings_lists_every_missing_variable(env: Path) -> None:
    result = runner.invoke(cli, ["serve", "--port", "0"])
    assert result.exit_code == 2
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "OPENAI_API_KEY", "TACTFUL_SUPPORT_CHANNELS",
                 "TACTFUL_REVIEW_CHANNEL", "TACTFUL_AGENTS"):
        assert f"{name} is not set" in result.output
    socket = runner.invoke(cli, ["serve", "--socket"])
    assert "SLACK_APP_TOKEN is not set" in socket.output and "SLACK_SIGNING_SECRET" not in socket.output


def test_empty_complaint_is_refused(env: Path) -> None:
    result = runner.invoke(cli, ["draft", "-"], input="   \n")
    assert result.exit_code == 2 and "empty" in result.output


def test_stats_on_a_new_database_prints_empty_figures(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TACTFUL_DATABASE_URL", f"sqlite:///{env / 'stats.db'}")
    result = runner.invoke(cli, ["stats", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["complaints"] == 0 and figures["acceptance_rate"] is None


def test_stats_on_an_unreachable_database_names_the_setting(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TACTFUL_DATABASE_URL", "postgresql://tactful@127.0.0.1:9/none")
    result = runner.invoke(cli, ["stats"])
    assert result.exit_code == 2
    assert "cannot open the database" in result.output and "TACTFUL_DATABASE_URL" in result.output

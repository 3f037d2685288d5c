"""`tactful brief FILE|-`: the same briefing pipeline on an exported thread, from the terminal."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from app.brief_cli import load_thread
from app.cli import cli
from tests.factories import PROMPTS_DIR
from tests.fakes.openai_api import BASE_URL, BRIEF, BRIEF_PART, FakeOpenAI, schema_name
from tests.fixtures.threads.generate import long_thread

runner = CliRunner()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_openai: FakeOpenAI) -> Path:
    for name in ("OPENAI_BASE_URL", "SLACK_BOT_TOKEN", "TACTFUL_AGENTS", "TACTFUL_SUPPORT_CHANNELS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TACTFUL_PROMPTS_DIR", str(PROMPTS_DIR))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", BASE_URL)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_replies_export_from_stdin_gives_a_brief_with_its_references(
    env: Path, fake_openai: FakeOpenAI
) -> None:
    thread = long_thread(30)

    result = runner.invoke(
        cli, ["brief", "-", "--agent", "UAGENT1", "--agent", "UAGENT2"],
        input=json.dumps({"messages": thread.messages}),
    )

    assert result.exit_code == 0, result.output
    assert "Timeline" in result.output and "Promises still open" in result.output
    assert "30 messages · 1 part(s) · 1 model call(s)" in result.output
    sent = fake_openai.requests[0]["messages"][-1]["content"]
    assert 'author="agent"' in sent and 'author="customer"' in sent and 'author="bot"' in sent


def test_a_long_export_channel_file_is_briefed_in_parts_as_json(
    env: Path, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TACTFUL_BRIEF_CONTEXT_TOKENS", "4000")
    thread = long_thread(600)
    other = {"type": "message", "ts": "1763460001.000001", "text": "unrelated", "user": "U9"}
    export = env / "2025-11-18.json"
    export.write_text(json.dumps([*thread.messages, other]))

    result = runner.invoke(cli, ["brief", str(export), "--thread", thread.root, "--json"])

    assert result.exit_code == 0, result.output
    brief: dict[str, Any] = json.loads(result.output)
    kinds = [schema_name(r) for r in fake_openai.requests]
    assert kinds.count(BRIEF) == 1 and kinds.count(BRIEF_PART) == brief["parts"] > 1
    assert brief["message_count"] == 600 and brief["llm_calls"] == brief["parts"] + 1
    every_ts = {m["ts"] for m in thread.messages}
    assert all(set(item["refs"]) <= every_ts for item in brief["timeline"])
    assert not any("unrelated" in m["content"] for r in fake_openai.requests for m in r["messages"])


def test_a_file_that_is_not_a_thread_says_what_was_expected(env: Path) -> None:
    (env / "bad.json").write_text(json.dumps({"channel": "C1"}))

    result = runner.invoke(cli, ["brief", str(env / "bad.json")])

    assert result.exit_code == 2
    assert re.search(r"conversations\.replies", result.output)


def test_authors_are_read_from_the_export() -> None:
    messages = [
        {"ts": "1.000001", "text": "broken", "user": "UC"},
        {"ts": "2.000001", "text": "on it", "user": "UA"},
        {"ts": "3.000001", "text": "ticket updated", "bot_id": "B1", "subtype": "bot_message"},
        {"ts": "4.000001", "text": "  ", "user": "UC"},
    ]

    thread = load_thread({"messages": messages}, agents={"UA"})

    assert [(m.author, m.ts) for m in thread] == [
        ("customer", "1.000001"), ("agent", "2.000001"), ("bot", "3.000001")
    ]

"""The managers' playbook alert stays within Block Kit's limits, however many problems there are."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.playbook import PlaybookRouter, PromptError
from app.settings import Settings
from app.slack.playbook_alerts import fixed_message, rejected_message, with_playbook_problems
from tests.fakes.support_workspace import PROMPTS_DIR


def test_a_long_list_of_problems_is_split_into_sections_and_cut_with_a_pointer_to_the_cli() -> None:
    router = PlaybookRouter(PROMPTS_DIR)
    errors = [
        PromptError(PROMPTS_DIR / "offers.yaml", n, f"offers[{n}].why: {'x' * 150}", "shorten it")
        for n in range(1, 61)
    ]

    text, blocks = rejected_message(router, errors, PROMPTS_DIR)

    shown = "\n".join(block["text"]["text"] for block in blocks)
    assert len(blocks) <= 50
    assert all(len(block["text"]["text"]) <= 3000 for block in blocks)
    assert "`prompts/offers.yaml:1: offers[1].why:" in shown
    assert "prompts/offers.yaml:40:" in shown and "prompts/offers.yaml:41:" not in shown
    assert "20 more: run `tactful prompts check`" in shown
    assert "60 problem(s)" in text
    assert router.current().version in shown


def test_file_text_cannot_become_a_mention_or_a_link() -> None:
    router = PlaybookRouter(PROMPTS_DIR)
    errors = [PromptError(Path("prompts/brand-voice.md"), 3, "bad <!channel> and <https://x.io|y>")]

    _, blocks = rejected_message(router, errors, PROMPTS_DIR)

    shown = json.dumps(blocks)
    assert "<!channel>" not in shown and "&lt;!channel&gt;" in shown
    assert "<https://x.io" not in shown


def test_the_fix_names_the_versions_now_served() -> None:
    router = PlaybookRouter(PROMPTS_DIR)

    text, blocks = fixed_message(router)

    for name in router.names:
        assert f"{name} {router.named(name).version}" in text  # type: ignore[union-attr]
    assert "fixed" in json.dumps(blocks)


def test_app_home_keeps_its_header_first_and_within_100_blocks() -> None:
    header = {"type": "header", "text": {"type": "plain_text", "text": "tactful"}}
    body = [{"type": "divider"}] * 99
    notice = {"type": "section", "text": {"type": "mrkdwn", "text": "problem"}}

    view = with_playbook_problems({"type": "home", "blocks": [header, *body]}, [notice])

    assert view["blocks"][:2] == [header, notice]
    assert len(view["blocks"]) == 100


def test_the_manager_channel_cannot_be_a_channel_customers_read() -> None:
    with pytest.raises(ValidationError, match="customers would see the playbook alerts"):
        Settings(TACTFUL_SUPPORT_CHANNELS="C0SUPPORT", TACTFUL_MANAGER_CHANNEL="C0SUPPORT")

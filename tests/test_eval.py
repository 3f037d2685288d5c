"""A manager tries a prompt change on past complaints before it ships: `tactful eval`."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest
import respx
from typer.testing import CliRunner

from app.cli import cli
from app.domain.drafting import DraftingPipeline
from app.domain.playbook import PlaybookSource
from app.llm import LLMClient, LLMConfig
from app.store import NewComplaint, Store
from tests.factories import complaint_from_fixture, load_complaint_fixture
from tests.scripted_llm import ScriptedLLM

PROMPTS = Path(__file__).resolve().parents[1] / "prompts"
LLM = "http://llm.test/v1"
runner = CliRunner()


async def store_a_sent_draft(url: str, fixture_id: str) -> None:
    """What the bot leaves behind: a complaint, its draft and the agent's approval."""
    fixture = load_complaint_fixture(fixture_id)
    with respx.mock(base_url=LLM) as mock:
        mock.post("/chat/completions").mock(side_effect=ScriptedLLM(fixture))
        client = LLMClient(LLMConfig(api_key="sk-test", base_url=LLM))
        result = await DraftingPipeline(client, PlaybookSource(PROMPTS).current).draft(
            complaint_from_fixture(fixture)
        )
        await client.aclose()
    store = await Store.open(url)
    accepted = await store.accept_complaint(
        complaint=NewComplaint(
            team_id="T1", channel_id="C0SUPPORT", message_ts="1764000000.000100",
            user_id="UCUSTOMER", text=fixture["text"], source="watch",
        )
    )
    assert accepted is not None
    draft = await store.start_draft(complaint_id=accepted.complaint_id)
    await store.save_draft_result(draft_id=draft.id, result=result)
    assert await store.claim_for_send(draft_id=draft.id, user_id="UAGENT", final_text=result.text)
    await store.mark_sent(draft_id=draft.id, channel="C0SUPPORT", ts="1764000000.000200")
    await store.close()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'eval.db'}"
    monkeypatch.setenv("TACTFUL_DATABASE_URL", url)
    monkeypatch.setenv("TACTFUL_PROMPTS_DIR", str(PROMPTS))
    monkeypatch.setenv("OPENAI_BASE_URL", LLM)
    monkeypatch.chdir(tmp_path)
    return url


def test_eval_replays_stored_complaints_with_a_changed_prompt_and_compares(env: str, tmp_path: Path) -> None:
    asyncio.run(store_a_sent_draft(env, "ecommerce_late_gift"))
    changed = tmp_path / "prompts-next"
    shutil.copytree(PROMPTS, changed)
    voice = changed / "brand-voice.md"
    voice.write_text(voice.read_text() + "\nKeep replies under 120 words.\n")
    # The changed prompt's model proposes other offers than the stored draft had.
    candidate = load_complaint_fixture("ecommerce_late_gift")
    candidate["llm_draft"]["offers"] = [
        {"offer_id": "partial_refund", "amount": 10, "why_it_helps": "Money back for the wait."},
        {"offer_id": "callback", "amount": None, "why_it_helps": "A person to talk to."},
    ]
    scripted = ScriptedLLM(candidate)

    with respx.mock(base_url=LLM) as mock:
        mock.post("/chat/completions").mock(side_effect=scripted)
        result = runner.invoke(cli, ["eval", "--prompts", str(changed), "--json"])
        readable = runner.invoke(cli, ["eval", "--prompts", str(changed)])

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["summary"]["cases"] == 1 and report["summary"]["failed"] == 0
    case = report["cases"][0]
    assert case["outcome"] == "sent" and case["offers_changed"] is True
    assert len(scripted.requests) == 4, "triage and draft, once per run"
    assert readable.exit_code == 0 and "Replayed with prompt version" in readable.output
    assert "offers changed in 1" in readable.output
    assert "Keep replies under 120 words." in json.dumps(scripted.requests[1]["messages"])


def test_eval_with_nothing_stored_says_where_drafts_come_from(env: str) -> None:
    result = runner.invoke(cli, ["eval"])
    assert result.exit_code == 1
    assert "no stored drafts to replay yet" in result.output

"""A manager tries a prompt change on past complaints before it ships: `tactful eval stored`."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from app.cli import cli
from app.domain.drafting import DraftingPipeline
from app.llm import LLMClient, LLMConfig
from app.playbook import PlaybookSource
from app.store import Store
from tests.factories import (
    PROMPTS_DIR,
    StoreFactory,
    complaint_from_fixture,
    load_complaint_fixture,
)
from tests.fakes.openai_api import API_KEY, BASE_URL, FakeOpenAI, fixture_reply

runner = CliRunner()


async def store_a_sent_draft(
    url: str, fixture_id: str, fake_openai: FakeOpenAI, *, text: str | None = None
) -> str:
    """What the bot leaves behind: a complaint, its draft and the agent's approval."""
    fixture = load_complaint_fixture(fixture_id)
    fake_openai.responder = fixture_reply(fixture)
    async with LLMClient(LLMConfig(api_key=API_KEY, base_url=BASE_URL)) as client:
        result = await DraftingPipeline(client, PlaybookSource(PROMPTS_DIR).current).draft(
            complaint_from_fixture(fixture)
        )
    factory = StoreFactory()
    store = await Store.open(url)
    complaint = factory.complaint(
        "1764000000.000100", channel="C0SUPPORT", text=text or fixture["text"]
    )
    draft_id = await factory.pending_draft(store, complaint=complaint, result=result)
    assert await store.claim_for_send(draft_id=draft_id, user_id="UAGENT", final_text=result.text)
    await store.mark_sent(draft_id=draft_id, attempt=1, channel="C0SUPPORT", ts="1764000000.000200")
    await store.close()
    fake_openai.requests.clear()
    return result.text


def test_eval_replays_stored_complaints_with_a_changed_prompt_and_compares(
    env: str, tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    asyncio.run(store_a_sent_draft(env, "ecommerce_late_gift", fake_openai))
    changed = tmp_path / "prompts-next"
    shutil.copytree(PROMPTS_DIR, changed)
    voice = changed / "brand-voice.md"
    voice.write_text(voice.read_text() + "\nKeep replies under 120 words.\n")
    # The changed prompt's model proposes other offers than the stored draft had.
    candidate = load_complaint_fixture("ecommerce_late_gift")
    candidate["llm_draft"]["offers"] = [
        {"offer_id": "partial_refund", "amount": 10, "why_it_helps": "Money back for the wait."},
        {"offer_id": "callback", "amount": None, "why_it_helps": "A person to talk to."},
    ]
    fake_openai.responder = fixture_reply(candidate)

    result = runner.invoke(cli, ["eval", "stored", "--prompts", str(changed), "--json"])
    readable = runner.invoke(cli, ["eval", "stored", "--prompts", str(changed)])

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["summary"]["cases"] == 1 and report["summary"]["errors"] == 0
    case = report["cases"][0]
    assert case["outcome"] == "sent" and case["offers_changed"] is True
    assert len(fake_openai.requests) == 2, "one call (triage and draft) per run"
    assert readable.exit_code == 0 and "Replayed with prompt version" in readable.output
    assert "offers changed in 1" in readable.output
    assert "Keep replies under 120 words." in json.dumps(fake_openai.requests[1]["messages"])


def test_eval_with_nothing_stored_says_where_drafts_come_from(env: str) -> None:
    result = runner.invoke(cli, ["eval", "stored"])
    assert result.exit_code == 1
    assert "no stored drafts to replay yet" in result.output

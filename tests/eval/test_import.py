"""`tactful eval import`: cases from stored complaints and the replies agents actually sent."""

from __future__ import annotations

import asyncio
from pathlib import Path

from typer.testing import CliRunner

from app.cli import cli
from app.evals.cases import load_cases
from tests.eval.test_stored_replay import store_a_sent_draft
from tests.fakes.openai_api import FakeOpenAI

runner = CliRunner()
CUSTOMER = (
    "The gift I ordered for my mum's birthday is a week late. "
    "Write to me at dana.miller@example.com, not the old address."
)


def test_import_writes_a_case_per_sent_reply_with_pii_redacted(
    env: str, tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    sent = asyncio.run(store_a_sent_draft(env, "ecommerce_late_gift", fake_openai, text=CUSTOMER))
    target = tmp_path / "evals" / "imported"

    result = runner.invoke(cli, ["eval", "import", "--out", str(target)])
    again = runner.invoke(cli, ["eval", "import", "--out", str(target)])

    assert result.exit_code == 0, result.output
    assert "Wrote 1 case file(s)" in result.output
    (loaded,) = load_cases(target)
    case = loaded.case
    text = loaded.path.read_text(encoding="utf-8")
    assert "dana.miller@example.com" not in text
    assert case.customer_message.startswith("The gift I ordered for my mum's birthday")
    assert case.reference_reply == sent
    assert case.expect.language == "en" and case.expect.escalate is False
    assert case.expect.offers_allowed, "the offers the agent sent are the allowed ones"
    assert case.expect.steps_covered, "the steps the sent reply covered"
    assert again.exit_code == 0 and "it exists (--overwrite replaces it)" in again.output
    assert fake_openai.requests == [], "importing calls no model"


def test_import_with_nothing_sent_says_where_cases_come_from(env: str, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["eval", "import", "--out", str(tmp_path / "imported")])
    assert result.exit_code == 1
    assert "no sent replies stored yet" in result.output

"""Case files are checked strictly, and every problem names its file and line."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.evals.cases import load_cases
from app.evals.prompt_sets import PromptSet
from app.playbook import PromptSetError
from tests.eval.conftest import copy_prompts, parse_json, write_case
from tests.fakes.openai_api import FakeOpenAI, customer_text

runner = CliRunner()
REPO_EVALS = Path(__file__).resolve().parents[2] / "evals"


def test_the_shipped_cases_load_and_resolve_against_the_shipped_prompts() -> None:
    cases = load_cases(REPO_EVALS)
    assert len(cases) >= 20
    languages = {c.case.expect.language for c in cases if c.case.expect.language}
    assert {"en", "de", "fr", "es"} <= languages
    assert any(c.case.watched and c.case.expect.reply_required is False for c in cases)
    PromptSet("shipped", REPO_EVALS.parent / "prompts").check(cases)


def test_unknown_keys_bad_values_and_bad_patterns_are_reported_at_their_lines(
    tmp_path: Path,
) -> None:
    (tmp_path / "bad.yaml").write_text(
        "id: bad-case\n"
        "customer_message: The parcel is late.\n"
        "expect:\n"
        "  language: German\n"
        "  steps_covered: [acknowledge, grovel]\n"
        "  must_not_match: ['(unclosed']\n"
        "  offers_count: {min: 3, max: 1}\n"
        "  max_char: 500\n",
        encoding="utf-8",
    )
    (tmp_path / "dup.yaml").write_text(
        "id: bad-case\ncustomer_message: x\ncustomer_message: y\n", encoding="utf-8"
    )

    with pytest.raises(PromptSetError) as raised:
        load_cases(tmp_path)

    found = {(e.path.name, e.line): e.message for e in raised.value.errors}
    assert "language" in found[("bad.yaml", 4)] and "ISO 639-1" in found[("bad.yaml", 4)]
    assert "grovel" in found[("bad.yaml", 5)]
    assert "not a valid regular expression" in found[("bad.yaml", 6)]
    assert "max (1) is below min (3)" in found[("bad.yaml", 7)]
    assert found[("bad.yaml", 8)].startswith("unknown key 'expect.max_char'")
    assert "max_chars" in found[("bad.yaml", 8)], "the fix lists the allowed keys"
    assert "duplicate key 'customer_message'" in found[("dup.yaml", 3)]


def test_a_broken_case_file_stops_the_run_before_any_model_call(
    env: str, tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    write_case(tmp_path / "cases", {"id": "ok", "customer_message": "Late."})
    (tmp_path / "cases" / "typo.yaml").write_text(
        "id: typo\ncustomer_mesage: Late.\n", encoding="utf-8"
    )

    result = runner.invoke(cli, ["eval", str(tmp_path / "cases")])

    assert result.exit_code == 2
    assert "typo.yaml:2: unknown key 'customer_mesage'" in result.output
    assert fake_openai.requests == []


def test_an_unknown_playbook_is_named_with_the_case_file_and_line(
    env: str, tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    write_case(
        tmp_path / "cases",
        {"id": "vip", "customer_message": "Late.", "playbook": "platinum"},
    )

    result = runner.invoke(cli, ["eval", str(tmp_path / "cases")])

    assert result.exit_code == 2
    output = " ".join(result.output.split())
    assert "vip.yaml:3: unknown playbook 'platinum'" in output
    assert "(it has standard, enterprise)" in output, "the names it could have been"
    assert fake_openai.requests == []


def test_named_playbooks_and_an_inline_catalog_each_reach_the_model(
    env: str, tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    prompts = copy_prompts(tmp_path / "prompts")
    # Not in playbooks.yaml: a playbook directory tried before any channel is mapped to it.
    trial = prompts / "trial-voice"
    trial.mkdir()
    voice = trial / "brand-voice.md"
    voice.write_text(
        (prompts / "brand-voice.md").read_text() + "\nWe sign as the Care Trial team.\n"
    )
    cases = tmp_path / "cases"
    write_case(cases, {"id": "mapped", "customer_message": "Mapped.", "playbook": "enterprise"})
    write_case(cases, {"id": "trial", "customer_message": "Trial.", "playbook": "trial-voice"})
    write_case(
        cases,
        {
            "id": "saas",
            "customer_message": "Down all afternoon.",
            "catalog": {
                "currency": "EUR",
                "offers": [
                    {
                        "id": "service_credit",
                        "label": "Service credit",
                        "fits": "Downtime on a paid plan",
                        "why": "It pays back the time lost",
                        "unit": "amount",
                        "max": 200,
                    }
                ],
            },
            "expect": {"offers_allowed": ["service_credit"]},
        },
    )

    result = runner.invoke(cli, ["eval", str(cases), "--prompts", str(prompts), "--json"])

    assert result.exit_code == 0, result.output
    system = {customer_text(r): r["messages"][0]["content"] for r in fake_openai.requests}
    assert "Brightwell for Business" in system["Mapped."], "the mapping's enterprise playbook"
    assert (
        "Care Trial team" in system["Trial."] and "Brightwell for Business" not in system["Trial."]
    )
    assert "Service credit" in system["Down all afternoon."]
    assert "Account credit" not in system["Down all afternoon."]
    # The fake model proposes express_reship and store_credit: the guardrails drop both, as
    # they are not in the case's catalog, so the case makes no offer outside it.
    saas = next(c for c in parse_json(result.stdout)["suites"][0]["cases"] if c["id"] == "saas")
    assert saas["passed"] and saas["checks"][0]["name"] == "offers_allowed"

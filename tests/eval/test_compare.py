"""`tactful eval --compare REF`: two prompt sets side by side, and the exit code that gates CI."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from app.cli import cli
from tests.eval.conftest import copy_prompts, parse_json, write_case
from tests.fakes.openai_api import FakeOpenAI, default_reply

runner = CliRunner()
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# A line the "new" prompt set adds to the draft prompt; the fake model answers it worse.
MARKER = "Always answer in French."

CASES = [
    {
        "id": "late-parcel",
        "customer_message": "My parcel is a week late.",
        "expect": {"language": "en", "offers_count": {"min": 1, "max": 2}, "max_chars": 2000},
    },
    {
        "id": "praise",
        "customer_message": "PRAISE-ONLY Thanks a lot!",
        "watched": True,
        "expect": {"reply_required": False},
    },
    {
        "id": "legal",
        "customer_message": "ESCALATE-ME My lawyer will call you.",
        "expect": {"escalate": True, "language": "en"},
    },
]


def regressing_model(request: dict[str, Any]) -> dict[str, Any] | str:
    """The fake model, which follows the new prompt's line: French, and a reworded apology."""
    answer = default_reply(request)
    system = " ".join(m["content"] for m in request["messages"] if m["role"] == "system")
    if MARKER in system and isinstance(answer, dict) and "triage" in answer:
        answer["triage"]["language"] = "fr"
        answer["reply"] = answer["reply"].replace(
            "I'm sorry for the trouble", "Je suis désolé pour ce souci"
        )
    return answer


def prompt_sets(tmp_path: Path) -> tuple[Path, Path]:
    old = copy_prompts(tmp_path / "prompts-old")
    new = copy_prompts(tmp_path / "prompts-new")
    draft = new / "draft.prompt.md"
    draft.write_text(draft.read_text().replace("\nuser:\n", f"\n{MARKER}\n\nuser:\n", 1))
    return old, new


@pytest.fixture
def cases(tmp_path: Path) -> Path:
    for case in CASES:
        write_case(tmp_path / "cases", case)
    return tmp_path / "cases"


def test_a_regression_fails_the_gate_and_the_report_shows_it(
    env: str, tmp_path: Path, cases: Path, fake_openai: FakeOpenAI
) -> None:
    fake_openai.responder = regressing_model
    old, new = prompt_sets(tmp_path)

    result = runner.invoke(
        cli, ["eval", str(cases), "--prompts", str(new), "--compare", str(old), "--json"]
    )
    sent = len(fake_openai.requests)
    readable = runner.invoke(
        cli, ["eval", str(cases), "--prompts", str(new), "--compare", str(old)]
    )

    assert result.exit_code == 1, result.output
    report = parse_json(result.stdout)
    assert {(r["case_id"], r["check"]) for r in report["regressions"]} == {
        ("late-parcel", "language"),
        ("legal", "language"),
    }
    old_run, new_run = report["suites"]
    assert old_run["pass_rates"]["language"] == {"passed": 2, "total": 2}
    assert new_run["pass_rates"]["language"] == {"passed": 0, "total": 2}
    assert new_run["pass_rates"]["reply_required"] == {"passed": 1, "total": 1}
    diff = report["changed_drafts"]["late-parcel"]
    assert "-I'm sorry for the trouble, and thank you for letting us know." in diff
    assert "+Je suis désolé pour ce souci, and thank you for letting us know." in diff
    assert "praise" not in report["changed_drafts"]
    assert sent == 2 * len(CASES), "each case once with each prompt set"
    assert readable.exit_code == 1
    assert "regressed late-parcel: language" in readable.output
    assert "Tokens and latency" in readable.output


def test_no_regression_passes_the_gate_even_with_failures_both_share(
    env: str, tmp_path: Path, cases: Path, fake_openai: FakeOpenAI
) -> None:
    fake_openai.responder = regressing_model
    old, new = prompt_sets(tmp_path)
    # Reversed: the French set is the old one, so the new one only fixes things.
    result = runner.invoke(
        cli, ["eval", str(cases), "--prompts", str(old), "--compare", str(new), "--json"]
    )

    assert result.exit_code == 0, result.output
    report = parse_json(result.stdout)
    assert report["regressions"] == []
    assert {(f["case_id"], f["check"]) for f in report["fixes"]} == {
        ("late-parcel", "language"),
        ("legal", "language"),
    }


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=Eval Test", "-c", "user.email=eval@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def test_compare_with_a_git_ref_reads_the_prompts_as_committed(
    env: str, tmp_path: Path, cases: Path, fake_openai: FakeOpenAI
) -> None:
    fake_openai.responder = regressing_model
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    prompts = copy_prompts(repo / "prompts")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "prompts as they ship")
    draft = prompts / "draft.prompt.md"
    draft.write_text(draft.read_text().replace("\nuser:\n", f"\n{MARKER}\n\nuser:\n", 1))

    result = runner.invoke(
        cli, ["eval", str(cases), "--prompts", str(prompts), "--compare", "main", "--json"]
    )
    unknown = runner.invoke(
        cli, ["eval", str(cases), "--prompts", str(prompts), "--compare", "no-such-branch"]
    )

    assert result.exit_code == 1, result.output
    report = parse_json(result.stdout)
    assert report["suites"][0]["label"] == "main"
    assert report["suites"][0]["pass_rates"]["language"] == {"passed": 2, "total": 2}
    assert [r["check"] for r in report["regressions"]] == ["language", "language"]
    assert unknown.exit_code == 2
    assert "git knows no ref 'no-such-branch'" in unknown.output.replace("\n", " ")


@pytest.fixture
def chromium() -> str:
    """The headless browser; skipped without one, except under CI (.ci/run installs it)."""
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; CI must run this test", pytrace=False)
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return CHROMIUM


def test_the_html_report_renders_its_chart_in_a_real_browser_without_errors(
    env: str, tmp_path: Path, cases: Path, fake_openai: FakeOpenAI, chromium: str
) -> None:
    fake_openai.responder = regressing_model
    old, new = prompt_sets(tmp_path)
    write_case(
        cases,
        {"id": "markup", "customer_message": "<script>alert(1)</script> where is my order?"},
    )
    report = tmp_path / "report.html"

    result = runner.invoke(
        cli,
        ["eval", str(cases), "--prompts", str(new), "--compare", str(old), "--html", str(report)],
    )

    assert result.exit_code == 1, result.output
    html = report.read_text(encoding="utf-8")
    assert "<script" not in html, "case text is escaped, and the report has no script"
    assert not re.search(r"""(src|href)=["']?https?:""", html), "nothing is fetched"
    browser = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'chromium-profile'}",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=2000",
            "--dump-dom",
            report.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert browser.returncode == 0, browser.stderr[-2000:]
    dom = browser.stdout
    bars = re.findall(r'<rect class="bar"[^>]*height="([0-9.]+)"', dom)
    # Five expectations (language, offers_count, max_chars, reply_required, escalate), two sets.
    assert len(bars) == 2 * 5
    assert any(float(h) > 0 for h in bars), "the chart draws bars, not an empty frame"
    assert "+Je suis désolé pour ce souci" in dom, "the changed draft is shown as a diff"
    assert "2 expectation(s) pass with" in dom
    console = [
        line
        for line in browser.stderr.splitlines()
        if "CONSOLE" in line or "Uncaught" in line or "Refused to" in line
    ]
    assert console == [], console

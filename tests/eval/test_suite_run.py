"""A manager runs `tactful eval cases/`: every case through the real pipeline, every expectation scored."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from app.cli import cli
from tests.eval.conftest import parse_json, write_case
from tests.fakes.openai_api import FakeOpenAI, default_reply

runner = CliRunner()

# The fake model's default draft: a delivery complaint in English, two offers
# (express_reship, store_credit 20), every one of the seven steps quoted.
ALL_GOOD = {
    "id": "late-parcel",
    "customer_message": "My parcel is a week late and nobody answers my emails.",
    "history": [
        {"author": "customer", "text": "Where is order 1234?"},
        {"author": "agent", "text": "I'm checking with the carrier and will write back today."},
    ],
    "channel_context": "Order 1234, standard shipping, carrier backlog at the hub.",
    "guidance": "Offer express shipping first.",
    "expect": {
        "offers_allowed": ["express_reship", "store_credit", "replacement"],
        "offers_forbidden": ["full_refund"],
        "offers_count": {"min": 1, "max": 2},
        "steps_covered": ["acknowledge", "offer", "apologize", "follow_up"],
        "must_not_match": ["calm down", r"\bpolicy\b"],
        "language": "en",
        "escalate": False,
        "max_chars": 2000,
        "reply_required": True,
    },
}
EVERYTHING_WRONG = {
    "id": "strict-german",
    "customer_message": "Mein Paket ist seit einer Woche überfällig.",
    "expect": {
        "offers_allowed": ["replacement"],
        "offers_forbidden": ["store_credit"],
        "offers_count": {"max": 1},
        "must_not_match": ["express"],
        "language": "de",
        "escalate": True,
        "max_chars": 100,
    },
}
PRAISE = {
    "id": "praise",
    "customer_message": "PRAISE-ONLY Thank you, Maria sorted it out in minutes!",
    "watched": True,
    "expect": {"reply_required": False},
}
ESCALATE = {
    "id": "legal",
    "customer_message": "ESCALATE-ME My lawyer will hear about this.",
    "expect": {"escalate": True, "language": "en"},
}


def run_eval(*args: str) -> tuple[int, dict[str, Any]]:
    result = runner.invoke(cli, ["eval", *args, "--json"])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, parse_json(result.stdout)


def checks_of(report: dict[str, Any], case_id: str) -> dict[str, dict[str, Any]]:
    case = next(c for c in report["suites"][-1]["cases"] if c["id"] == case_id)
    return {check["name"]: check for check in case["checks"]}


def test_every_expectation_is_scored_from_the_pipelines_result(
    env: str, tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    cases = tmp_path / "cases"
    for case in (ALL_GOOD, EVERYTHING_WRONG, PRAISE, ESCALATE):
        write_case(cases, case)

    code, report = run_eval(str(cases))

    assert code == 1, "a failed expectation fails the run"
    good = checks_of(report, "late-parcel")
    assert list(good) == list(ALL_GOOD["expect"]), "one check per expectation, in order"
    assert all(check["passed"] for check in good.values()), good
    wrong = checks_of(report, "strict-german")
    assert {name: c["passed"] for name, c in wrong.items()} == {
        "offers_allowed": False,
        "offers_forbidden": False,
        "offers_count": False,
        "must_not_match": False,
        "language": False,
        "escalate": False,
        "max_chars": False,
    }
    assert wrong["offers_allowed"]["detail"] == "not allowed: express_reship, store_credit"
    assert wrong["offers_count"]["detail"] == "2 offers, wanted 0..1"
    assert wrong["language"]["detail"] == "drafted for 'en'"
    assert wrong["must_not_match"]["detail"] == "matched: express"
    assert checks_of(report, "praise")["reply_required"]["passed"]
    assert checks_of(report, "legal")["escalate"]["passed"]
    suite = report["suites"][0]
    assert suite["pass_rates"]["escalate"] == {"passed": 2, "total": 3}
    assert suite["pass_rates"]["reply_required"] == {"passed": 2, "total": 2}
    drafted = next(c for c in suite["cases"] if c["id"] == "late-parcel")
    assert drafted["tokens"] == 180 and drafted["draft"]


def test_the_case_reaches_the_model_as_the_bot_sends_it(
    env: str, tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    case = dict(ALL_GOOD, customer_message="Late again. Write to dana.miller@example.com please.")
    write_case(tmp_path / "cases", case)

    code, _ = run_eval(str(tmp_path / "cases"))

    assert code == 0
    (request,) = fake_openai.requests
    system = " ".join(m["content"] for m in request["messages"] if m["role"] == "system")
    user = " ".join(m["content"] for m in request["messages"] if m["role"] == "user")
    assert "Late again" in user and "Late again" not in system, "customer text is user-role data"
    assert "dana.miller@example.com" not in json.dumps(request), "PII is redacted first"
    assert "I'm checking with the carrier" in user, "the thread history is sent"
    assert "carrier backlog at the hub" in user and "Offer express shipping first." in user


def test_cases_run_concurrently_within_the_limit(
    env: str, tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    fake_openai.latency_s = 0.2
    for index in range(9):
        write_case(tmp_path / "cases", dict(ALL_GOOD, id=f"case-{index}"))

    code, report = run_eval(str(tmp_path / "cases"), "--concurrency", "3")

    assert code == 0 and len(report["suites"][0]["cases"]) == 9
    assert fake_openai.max_in_flight == 3


def test_a_model_failure_fails_that_case_and_the_run_goes_on(
    env: str, tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    write_case(tmp_path / "cases", ALL_GOOD)
    write_case(tmp_path / "cases", dict(ALL_GOOD, id="second"))
    fake_openai.fail_next(400, times=1)

    code, report = run_eval(str(tmp_path / "cases"), "--concurrency", "1")

    assert code == 1
    cases = {c["id"]: c for c in report["suites"][0]["cases"]}
    assert cases["late-parcel"]["error"] and not cases["late-parcel"]["passed"]
    assert all(not c["passed"] for c in cases["late-parcel"]["checks"])
    assert cases["second"]["passed"]


def test_the_terminal_report_lists_failures_and_pass_rates(
    env: str, tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    write_case(tmp_path / "cases", ALL_GOOD)
    write_case(tmp_path / "cases", EVERYTHING_WRONG)

    result = runner.invoke(cli, ["eval", str(tmp_path / "cases")])

    assert result.exit_code == 1
    assert "Pass rate per expectation" in result.output
    assert "strict-german" in result.output and "fail" in result.output
    assert "1/2 cases pass every expectation" in result.output


def test_the_rubric_is_reported_apart_and_never_gates(
    env: str, tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    def with_rubric(request: dict[str, Any]) -> dict[str, Any] | str:
        if "RubricOutput" in json.dumps(request.get("response_format")):
            return {
                "empathy": 2,
                "clarity": 9,  # out of scale: clamped to 5
                "no_blame": 5,
                "realistic_promises": 4,
                "comment": "Name the date the parcel arrives.",
            }
        return default_reply(request)

    fake_openai.responder = with_rubric
    write_case(tmp_path / "cases", ALL_GOOD)

    code, report = run_eval(str(tmp_path / "cases"), "--rubric")
    readable = runner.invoke(cli, ["eval", str(tmp_path / "cases"), "--rubric"])

    assert code == 0, "a low rubric score does not fail the run"
    (grade,) = report["rubric"]
    assert grade["empathy"] == 2 and grade["clarity"] == 5 and grade["case"] == "late-parcel"
    rubric_request = fake_openai.requests[1]
    assert all(
        "My parcel is a week late" not in m["content"]
        for m in rubric_request["messages"]
        if m["role"] == "system"
    )
    assert "not part of the gate" in readable.output


def test_without_a_path_the_evals_directory_is_run(
    env: str, tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    write_case(tmp_path / "evals" / "delivery", ALL_GOOD)  # env runs in tmp_path

    code, report = run_eval()
    missing = runner.invoke(cli, ["eval", "no-such-dir"])

    assert code == 0 and [c["id"] for c in report["suites"][0]["cases"]] == ["late-parcel"]
    assert missing.exit_code == 2 and "no-such-dir: no such file or directory" in missing.output

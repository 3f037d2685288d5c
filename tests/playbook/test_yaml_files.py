"""A manager breaks offers.yaml or guardrails.yaml: every problem named with its file and line."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest

from app.playbook import PromptError, PromptSetError, load_guardrail_policy, load_offer_catalog

GOOD_CATALOG = """\
currency: EUR
offers:
  - id: store_credit
    label: Account credit
    fits: Any real inconvenience
    why: Usable right away
    unit: amount
    max: 50
  - id: callback
    label: Call-back
    fits: Long cases
    why: One person owns it
    unit: none
"""

GOOD_POLICY = """\
min_offers: 2
max_offers: 3
avoid_phrases:
  - phrase: calm down
    why: dismissive
promise_patterns:
  - pattern: '\\bguarantee\\b'
    why: a promise
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def errors_of(load: object, path: Path) -> list[PromptError]:
    with pytest.raises(PromptSetError) as caught:
        load(path)  # type: ignore[operator]
    return caught.value.errors


def only_error(load: object, path: Path) -> PromptError:
    errors = errors_of(load, path)
    assert len(errors) == 1, [str(e) for e in errors]
    return errors[0]


def test_a_small_valid_catalog_in_another_currency(tmp_path: Path) -> None:
    catalog = load_offer_catalog(write(tmp_path, "offers.yaml", GOOD_CATALOG))

    assert catalog.for_prompt()[0]["limit"] == "up to 50 EUR"


@pytest.mark.parametrize(
    ("yaml_text", "line", "says"),
    [
        pytest.param(
            GOOD_CATALOG.replace("    max: 50\n", "    max: 50\n   maximum: [1,\n"),
            9,
            "the file is not valid YAML",
            id="yaml-syntax",
        ),
        pytest.param(
            GOOD_CATALOG.replace("    max: 50\n", "    maximum: 50\n"),
            8,
            "unknown key 'offers[0].maximum'; allowed here: id, label, fits, why, unit, max,"
            " escalate_above",
            id="unknown-key",
        ),
        pytest.param(
            GOOD_CATALOG.replace("max: 50", "max: -5"),
            8,
            "offers[0].max: Input should be greater than or equal to 0",
            id="negative-max",
        ),
        pytest.param(
            GOOD_CATALOG.replace("id: callback", "id: store_credit"),
            9,
            "duplicate offer id 'store_credit' (first defined on line 3); give each offer its own id",
            id="duplicate-id",
        ),
        pytest.param(
            GOOD_CATALOG.replace("    unit: none\n", "    unit: none\n    max: 10\n"),
            9,
            "offer 'callback' has unit 'none' but a max; remove max or set unit to amount",
            id="none-unit-with-max",
        ),
        pytest.param(
            GOOD_CATALOG.replace("    why: One person owns it\n", ""),
            9,
            "missing key 'offers[1].why'; add 'why:' with a value",
            id="missing-why",
        ),
        pytest.param(
            GOOD_CATALOG.replace("unit: amount", "unit: dollars"),
            7,
            "offers[0].unit: Input should be 'amount', 'percent' or 'none' (got 'dollars')",
            id="bad-unit",
        ),
        pytest.param(
            GOOD_CATALOG.replace("    max: 50\n", "    max: 50\n    max: 60\n"),
            9,
            "duplicate key 'max' (first on line 8); keep only one",
            id="duplicate-yaml-key",
        ),
        pytest.param(
            GOOD_CATALOG.replace("currency: EUR", "currency: euros"),
            1,
            "currency: String should match pattern '^[A-Z]{3}$' (got 'euros'); "
            "expected ISO 4217 code, e.g. USD",
            id="bad-currency",
        ),
        pytest.param(
            GOOD_CATALOG.replace("id: callback", "id: Call Back"),
            9,
            "offers[1].id: String should match pattern '^[a-z][a-z0-9_]*$' (got 'Call Back'); "
            "expected snake_case, unique",
            id="id-not-snake-case",
        ),
        pytest.param(
            "- just\n- a list\n",
            1,
            "expected a mapping of keys; write the keys currency, offers each on its own line",
            id="not-a-mapping",
        ),
        pytest.param(
            GOOD_CATALOG.replace(
                "    max: 50\n", "    max: 50\n    keywords: [credit, avoir]\n"
            ).replace(
                "    unit: none\n",
                "    unit: none\n    keywords:\n      - call you\n      - Credit\n",
            ),
            17,
            "keyword 'Credit' also names 'store_credit' (line 9); keep it on one offer",
            id="keyword-on-two-offers",
        ),
        pytest.param(
            GOOD_CATALOG.replace("    unit: none\n", "    unit: none\n    keywords: ['!!']\n"),
            14,
            "offers[1].keywords[0]: '!!' has no word to look for",
            id="keyword-without-a-word",
        ),
        pytest.param(
            GOOD_CATALOG.replace("  - id: callback", "  - \n  - id: callback"),
            9,
            "offers[1]: expected a mapping of keys; write the keys id, label",
            id="empty-item",
        ),
    ],
)
def test_a_broken_catalog_names_the_file_and_line(
    tmp_path: Path, yaml_text: str, line: int, says: str
) -> None:
    path = write(tmp_path, "offers.yaml", yaml_text)

    error = only_error(load_offer_catalog, path)

    assert (error.path, error.line) == (path, line), str(error)
    assert says in error.message
    assert str(error).startswith(f"{path}:{line}: ")


def test_every_problem_of_the_catalog_is_reported_in_line_order(tmp_path: Path) -> None:
    broken = GOOD_CATALOG.replace("max: 50", "max: -1").replace("unit: none", "unit: nothing")
    path = write(tmp_path, "offers.yaml", broken)

    errors = errors_of(load_offer_catalog, path)

    assert [(e.line, e.problem.split(":")[0]) for e in errors] == [
        (8, "offers[0].max"),
        (13, "offers[1].unit"),
    ]


def test_a_missing_catalog_file_is_reported_without_a_line(tmp_path: Path) -> None:
    error = only_error(load_offer_catalog, tmp_path / "nope.yaml")

    assert error.line is None
    assert error.message.startswith("cannot read the file: No such file or directory")


def test_a_catalog_saved_in_another_encoding_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "offers.yaml"
    path.write_bytes(GOOD_CATALOG.replace("Call-back", "Rappel téléphonique").encode("latin-1"))

    error = only_error(load_offer_catalog, path)

    assert "not UTF-8" in error.problem and error.fix == "save the file as UTF-8"


def test_a_catalog_with_windows_line_ends_and_a_byte_order_mark_loads(tmp_path: Path) -> None:
    path = tmp_path / "offers.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD_CATALOG.replace("\n", "\r\n").encode())

    assert "callback" in load_offer_catalog(path)


@pytest.mark.parametrize(
    ("yaml_text", "line", "says"),
    [
        pytest.param(
            GOOD_POLICY.replace("'\\bguarantee\\b'", "'\\bguarantee(\\b'"),
            7,
            "promise_patterns[0].pattern: bad regular expression",
            id="bad-regex",
        ),
        pytest.param(
            GOOD_POLICY.replace("'\\bguarantee\\b'", "'(?<!not )guarantee'"),
            7,
            "cannot run in linear time (invalid perl operator: (?<!); lookarounds",
            id="lookbehind",
        ),
        pytest.param(
            GOOD_POLICY + "offer_words:\n  refund: [refund*]\n  voucher: ['!', coupon]\n",
            11,
            "offer_words.voucher[0]: '!' has no word to look for",
            id="offer-word-without-letters",
        ),
        pytest.param(
            GOOD_POLICY + "allowed_link_hosts:\n  - brightwell.com\n  - not a host\n",
            9,
            "not a host name: 'not a host'",
            id="bad-link-host",
        ),
        pytest.param(
            GOOD_POLICY.replace("max_offers: 3", "max_offers: 1"),
            2,
            "max_offers (1) is below min_offers (2)",
            id="max-below-min",
        ),
        pytest.param(
            GOOD_POLICY.replace(
                "    why: dismissive\n", "    why: dismissive\n    severity: high\n"
            ),
            6,
            "unknown key 'avoid_phrases[0].severity'; allowed here: phrase, why",
            id="unknown-key",
        ),
        pytest.param(
            GOOD_POLICY.replace("    why: dismissive\n", "    why: dismissive\n  -\n"),
            6,
            "avoid_phrases[1]: expected a mapping of keys; write the keys phrase, why",
            id="empty-item",
        ),
        pytest.param(
            GOOD_POLICY + "min_offers: 1\n",
            9,
            "duplicate key 'min_offers' (first on line 1)",
            id="duplicate-key",
        ),
    ],
)
def test_a_broken_guardrails_file_names_the_file_and_line(
    tmp_path: Path, yaml_text: str, line: int, says: str
) -> None:
    path = write(tmp_path, "guardrails.yaml", yaml_text)

    error = only_error(load_guardrail_policy, path)

    assert (error.path, error.line) == (path, line), str(error)
    assert says in error.message


def test_the_new_guardrail_keys_load_and_hosts_are_normalized(tmp_path: Path) -> None:
    text = GOOD_POLICY + (
        "offer_words:\n  refund: [refund*, remboursement]\n"
        "not_offers: [credit card]\n"
        "allowed_link_hosts: [https://Help.Brightwell.com/faq, brightwell.com]\n"
    )

    policy = load_guardrail_policy(write(tmp_path, "guardrails.yaml", text))

    assert policy.allowed_link_hosts == ["help.brightwell.com", "brightwell.com"]
    assert policy.offer_groups_in("We refunded it; remboursement fait") == {"refund"}
    assert policy.not_offers == ["credit card"]


def test_a_pattern_with_nested_quantifiers_still_runs_in_linear_time(tmp_path: Path) -> None:
    text = GOOD_POLICY.replace("'\\bguarantee\\b'", "'(a+)+b'")
    policy = load_guardrail_policy(write(tmp_path, "guardrails.yaml", text))

    started = time.perf_counter()
    found = policy.promises("a" * 40_000 + "\n" + "aab")
    elapsed = time.perf_counter() - started

    # Python's backtracking engine needs 2^n steps here; RE2 reads the text once.
    assert [text for _, _, text in found] == ["aab"]
    assert elapsed < 0.2, f"{elapsed:.2f}s"

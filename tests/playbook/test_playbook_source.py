"""A manager edits the prompts folder while the bot runs: good edits go live, bad ones never do."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from app.playbook import PlaybookSource, PromptSetError, content_version, load_playbook


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    # Same-size edits within one clock tick would otherwise look unchanged to stat().
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_the_real_folder_loads_as_one_playbook_with_one_version(real_prompts_dir: Path) -> None:
    book = load_playbook(real_prompts_dir)

    assert book.version == content_version(real_prompts_dir) == book.prompts.version
    assert "store_credit" in book.catalog
    assert book.policy.max_offers >= book.policy.min_offers
    rendered = book.render(
        "brief",
        system={},
        user={
            "thread": ['<message author="customer" ts="unknown">\nhi\n</message>'],
            "parts": [],
            "channel_context": "",
        },
    )
    assert book.prompts.brand_voice in rendered.messages[0].content


def test_every_bad_file_of_the_folder_is_reported_together(prompt_dir: Path) -> None:
    edit(prompt_dir / "offers.yaml", "currency: USD", "currency: dollars")
    edit(prompt_dir / "guardrails.yaml", "max_offers: 3", "max_offers: 3\nmax_offers: 4")
    edit(prompt_dir / "tone.prompt.md", "{{ brand_voice }}", "{{ brand_vioce }}")

    with pytest.raises(PromptSetError) as caught:
        load_playbook(prompt_dir)

    assert [e.path.name for e in caught.value.errors] == [
        "guardrails.yaml",
        "offers.yaml",
        "tone.prompt.md",
    ]


def test_a_missing_folder_says_which_setting_to_fix(tmp_path: Path) -> None:
    with pytest.raises(PromptSetError) as caught:
        load_playbook(tmp_path / "nope")

    (error,) = caught.value.errors
    assert "TACTFUL_PROMPTS_DIR" in str(error)


def test_a_good_edit_is_served_at_the_next_check(prompt_dir: Path) -> None:
    source = PlaybookSource(prompt_dir, check_every_s=0)
    before = source.current()

    edit(prompt_dir / "offers.yaml", "max: 50", "max: 45")
    after = source.current()

    assert after.version != before.version
    assert after.catalog["store_credit"].max == 45
    assert source.last_errors == []


def test_a_bad_edit_is_reported_and_the_last_good_playbook_keeps_serving(
    prompt_dir: Path,
) -> None:
    source = PlaybookSource(prompt_dir, check_every_s=0)
    good = source.current()
    offers = prompt_dir / "offers.yaml"

    edit(offers, "max: 50", "max: -50")
    with capture_logs() as logs:
        served = source.current()

    assert served is good
    assert [(e.path, e.problem.split(":")[0]) for e in source.last_errors] == [
        (offers, "offers[2].max")
    ]
    assert logs[0]["event"] == "prompt_file_rejected"
    assert logs[0]["serving"] == good.version
    assert f"{offers}:" in logs[0]["error"]

    edit(offers, "max: -50", "max: 55")
    fixed = source.current()

    assert fixed.catalog["store_credit"].max == 55
    assert source.last_errors == []


def test_a_file_deleted_mid_edit_never_breaks_drafting(prompt_dir: Path) -> None:
    source = PlaybookSource(prompt_dir, check_every_s=0)
    good = source.current()

    (prompt_dir / "brand-voice.md").unlink()

    assert source.current() is good
    assert "brand voice is required" in str(source.last_errors[0])


def test_checks_are_spaced_out_so_the_drafting_path_stays_cheap(prompt_dir: Path) -> None:
    source = PlaybookSource(prompt_dir, check_every_s=3600)
    good = source.current()

    edit(prompt_dir / "offers.yaml", "max: 50", "max: 45")

    assert source.current() is good

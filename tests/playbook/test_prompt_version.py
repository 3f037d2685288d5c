"""The prompt version recorded on each draft: changes with any edit, stable otherwise."""

from __future__ import annotations

import re
from pathlib import Path

from app.playbook import PromptLibrary, content_version


def test_the_version_is_twelve_hex_digits_and_stable_across_reads(prompt_dir: Path) -> None:
    first = content_version(prompt_dir)

    assert re.fullmatch(r"[0-9a-f]{12}", first)
    assert content_version(prompt_dir) == first
    assert PromptLibrary.load(prompt_dir).version == first


def test_the_same_files_in_another_folder_have_the_same_version(
    prompt_dir: Path, real_prompts_dir: Path
) -> None:
    assert content_version(prompt_dir) == content_version(real_prompts_dir)


def test_editing_a_prompt_file_changes_the_version(prompt_dir: Path) -> None:
    before = content_version(prompt_dir)
    draft = prompt_dir / "draft.prompt.md"
    draft.write_text(draft.read_text().replace("temperature: 0.4", "temperature: 0.3"))

    assert content_version(prompt_dir) != before


def test_editing_the_offer_catalog_or_the_guardrails_changes_the_version(
    prompt_dir: Path,
) -> None:
    offers = prompt_dir / "offers.yaml"
    offers.write_text("currency: USD\noffers: []\n")
    before = content_version(prompt_dir)

    offers.write_text("currency: EUR\noffers: []\n")
    after_offers = content_version(prompt_dir)
    (prompt_dir / "guardrails.yml").write_text("min_offers: 2\n")

    assert len({before, after_offers, content_version(prompt_dir)}) == 3


def test_the_brand_voice_and_the_readme_count_too(prompt_dir: Path) -> None:
    before = content_version(prompt_dir)
    voice = prompt_dir / "brand-voice.md"
    voice.write_text(voice.read_text() + "\nWe never use exclamation marks.\n")
    after_voice = content_version(prompt_dir)
    readme = prompt_dir / "README.md"
    readme.write_text(readme.read_text() + "\nOne more note.\n")

    assert len({before, after_voice, content_version(prompt_dir)}) == 3


def test_renaming_a_file_changes_the_version_even_with_the_same_bytes(prompt_dir: Path) -> None:
    (prompt_dir / "notes.md").write_text("draft ideas\n")
    before = content_version(prompt_dir)
    (prompt_dir / "notes.md").rename(prompt_dir / "ideas.md")

    assert content_version(prompt_dir) != before


def test_files_that_are_not_prompt_material_do_not_change_the_version(
    prompt_dir: Path,
) -> None:
    before = content_version(prompt_dir)
    (prompt_dir / ".draft.prompt.md.swp").write_bytes(b"\x00editor swap")
    (prompt_dir / ".#draft.prompt.md").write_text("emacs lock")
    (prompt_dir / "notes.txt").write_text("scratch")
    (prompt_dir / "archive").mkdir()
    (prompt_dir / "archive" / "old.prompt.md").write_text("old")

    assert content_version(prompt_dir) == before
    assert set(PromptLibrary.load(prompt_dir).templates) == {
        "draft",
        "tone",
        "brief",
        "brief-part",
        "rubric",
    }

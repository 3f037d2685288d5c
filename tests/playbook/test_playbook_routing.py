"""Per-channel playbooks: the mapping file, inheritance from prompts/, routing and hot reload."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.playbook import (
    PlaybookRouter,
    PromptSetError,
    check_playbooks,
    content_version,
    load_mapping,
    load_named_playbook,
)

ENTERPRISE_CHANNEL = "C0BUSINESS"
RELAY_CHANNEL = "C0RELAYS"


def write(path: Path, text: str) -> None:
    """Write as an editor would; the mtime moves on so the next check sees the change."""
    stamp = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text)
    os.utime(path, ns=(stamp + 10**9, stamp + 10**9))


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    write(path, text.replace(old, new, 1))


def mapping(prompt_dir: Path, *, enterprise: str = ENTERPRISE_CHANNEL, extra: str = "") -> Path:
    path = prompt_dir / "playbooks.yaml"
    write(
        path,
        "default: standard\n"
        "playbooks:\n"
        "  standard:\n"
        "    dir: .\n"
        "  enterprise:\n"
        "    dir: playbooks/enterprise\n"
        f"    channels: [{enterprise}]\n"
        "    default_tone: formal\n"
        "    sign_off_name: Jordan, Brightwell for Business\n"
        f"{extra}",
    )
    return path


def test_each_channel_gets_its_playbook_and_every_other_channel_the_default(
    prompt_dir: Path,
) -> None:
    mapping(prompt_dir)
    router = PlaybookRouter(prompt_dir)

    business = router.current(ENTERPRISE_CHANNEL)
    other = router.current("C0ELSEWHERE")

    assert business.name == "enterprise"
    assert "Brightwell for Business" in business.prompts.brand_voice
    assert business.catalog.get("service_credit") is not None
    assert business.catalog.get("express_reship") is None
    assert (business.default_tone, business.sign_off_name) == (
        "formal",
        "Jordan, Brightwell for Business",
    )
    assert other.name == "standard" and router.current() is other
    assert other.catalog.get("express_reship") is not None
    assert "Brightwell for Business" not in other.prompts.brand_voice
    # The enterprise folder has no prompt files: they are inherited from prompts/.
    assert business.prompts.get("draft").path == prompt_dir / "draft.prompt.md"
    assert business.version != other.version


def test_without_a_mapping_file_the_whole_folder_is_the_one_default_playbook(
    prompt_dir: Path,
) -> None:
    (prompt_dir / "playbooks.yaml").unlink()

    router = PlaybookRouter(prompt_dir)

    assert router.names == ["default"]
    assert router.current("C0ANY").name == "default"
    assert router.current().version == content_version(prompt_dir)
    assert router.relay_channels() == frozenset()


def test_the_mapping_file_is_not_part_of_any_playbooks_version(prompt_dir: Path) -> None:
    before = PlaybookRouter(prompt_dir).current().version

    mapping(prompt_dir, extra="  spare:\n    dir: playbooks/enterprise\n")

    assert PlaybookRouter(prompt_dir).current().version == before


def test_the_tone_and_sign_off_of_a_playbook_are_part_of_its_version(prompt_dir: Path) -> None:
    path = mapping(prompt_dir)
    before = PlaybookRouter(prompt_dir).current(ENTERPRISE_CHANNEL).version

    edit(path, "default_tone: formal", "default_tone: concise")

    assert PlaybookRouter(prompt_dir).current(ENTERPRISE_CHANNEL).version != before


def test_relay_playbooks_name_the_relay_channels(prompt_dir: Path) -> None:
    mapping(
        prompt_dir,
        extra=f"  relays:\n    dir: .\n    kind: relay\n    channels: [{RELAY_CHANNEL}]\n",
    )

    router = PlaybookRouter(prompt_dir)

    assert router.relay_channels() == {RELAY_CHANNEL}
    assert router.channels() == {RELAY_CHANNEL, ENTERPRISE_CHANNEL}


@pytest.mark.parametrize(
    ("body", "line", "problem"),
    [
        (
            "default: standard\nplaybooks:\n  standard:\n    dir: .\n    tone: warm\n",
            5,
            "unknown key 'playbooks.standard.tone'",
        ),
        (
            "default: nobody\nplaybooks:\n  standard:\n    dir: .\n",
            1,
            "default names 'nobody', which is not a playbook below",
        ),
        (
            "default: standard\nplaybooks:\n  standard:\n    dir: playbooks/missing\n",
            4,
            "folder 'playbooks/missing' not found",
        ),
        (
            "default: standard\nplaybooks:\n  standard:\n    dir: ../elsewhere\n",
            4,
            "must be a folder inside prompts/",
        ),
        (
            "default: standard\nplaybooks:\n  standard:\n    dir: .\n    channels: [support]\n",
            5,
            "'support' is not a channel ID",
        ),
        (
            "default: standard\nplaybooks:\n  standard:\n    dir: .\n    channels: [C0A1]\n"
            "  other:\n    dir: .\n    channels: [C0B2, C0A1]\n",
            8,
            "channel C0A1 is already served by playbook 'standard'",
        ),
        (
            "default: standard\nplaybooks:\n  standard:\n    dir: .\n  Big Accounts:\n    dir: .\n",
            5,
            "playbook name 'Big Accounts' is not allowed",
        ),
        ("default: standard\nplaybooks:\n  standard:\n  dir: .\n", 4, "expected a mapping of keys"),
    ],
)
def test_a_broken_mapping_names_the_file_and_line(
    prompt_dir: Path, body: str, line: int, problem: str
) -> None:
    path = prompt_dir / "playbooks.yaml"
    write(path, body)

    with pytest.raises(PromptSetError) as raised:
        load_mapping(prompt_dir)

    assert any(
        e.path == path and e.line == line and problem in e.problem for e in raised.value.errors
    ), [str(e) for e in raised.value.errors]


def test_an_error_is_reported_in_the_file_that_holds_it(prompt_dir: Path) -> None:
    mapping(prompt_dir)
    own = prompt_dir / "playbooks" / "enterprise" / "offers.yaml"
    edit(own, "max: 10", "max: -10")
    inherited = prompt_dir / "tone.prompt.md"
    edit(inherited, "temperature: 0.5", "temprature: 0.5")

    books, errors = check_playbooks(prompt_dir)

    where = sorted((e.path, e.line) for e in errors)
    assert books == []
    assert [path for path, _ in where] == [own, inherited]
    assert all(line for _, line in where)
    # The broken prompt is inherited by both playbooks but reported once.
    assert len(errors) == 2


def test_a_broken_playbook_keeps_its_last_good_version_and_the_others_carry_on(
    prompt_dir: Path,
) -> None:
    mapping(prompt_dir)
    router = PlaybookRouter(prompt_dir, check_every_s=0)
    good = router.current(ENTERPRISE_CHANNEL)
    standard = router.current()
    offers = prompt_dir / "playbooks" / "enterprise" / "offers.yaml"

    edit(offers, "max: 10", "max: ten")
    errors = router.check()

    line = offers.read_text().splitlines().index("    max: ten") + 1
    assert router.current(ENTERPRISE_CHANNEL) is good
    assert router.current() is standard
    assert [(e.path, e.line) for e in errors] == [(offers, line)]

    edit(offers, "max: ten", "max: 12")
    assert router.check() == []
    assert router.current(ENTERPRISE_CHANNEL).catalog["service_credit"].max == 12


def test_an_edit_of_an_inherited_file_reaches_the_playbooks_that_inherit_it(
    prompt_dir: Path,
) -> None:
    mapping(prompt_dir)
    router = PlaybookRouter(prompt_dir, check_every_s=0)
    before = router.current(ENTERPRISE_CHANNEL).version

    edit(prompt_dir / "guardrails.yaml", "\n", "\n# a comment a manager added\n")
    router.check()

    assert router.current(ENTERPRISE_CHANNEL).version != before


def test_a_mapping_edit_is_picked_up_and_a_broken_one_keeps_the_last_good_routing(
    prompt_dir: Path,
) -> None:
    path = mapping(prompt_dir, enterprise="C0FIRST")
    router = PlaybookRouter(prompt_dir, check_every_s=0)
    assert router.current("C0SECOND").name == "standard"

    edit(path, "C0FIRST", "C0SECOND")
    assert router.check() == []
    assert router.current("C0SECOND").name == "enterprise"

    edit(path, "default: standard", "default: nobody")
    errors = router.check()

    assert [(e.path, e.line) for e in errors] == [(path, 1)]
    assert router.current("C0SECOND").name == "enterprise"
    assert router.current().name == "standard"


def test_a_mapping_that_names_a_broken_new_playbook_is_refused_whole(prompt_dir: Path) -> None:
    path = mapping(prompt_dir)
    router = PlaybookRouter(prompt_dir, check_every_s=0)
    broken = prompt_dir / "playbooks" / "broken"
    broken.mkdir()
    write(broken / "offers.yaml", "currency: usd\noffers: []\n")

    edit(
        path,
        "playbooks:\n",
        "playbooks:\n  broken:\n    dir: playbooks/broken\n    channels: [C0NEW]\n",
    )
    errors = router.check()

    assert {e.path for e in errors} == {broken / "offers.yaml"}
    assert router.current("C0NEW").name == "standard"
    assert "broken" not in router.names


def test_the_eval_tool_loads_a_playbook_by_name(real_prompts_dir: Path) -> None:
    enterprise = load_named_playbook(real_prompts_dir, "enterprise")
    default = load_named_playbook(real_prompts_dir)

    assert enterprise.name == "enterprise"
    assert enterprise.default_tone == "formal"
    assert default.name == "standard"
    with pytest.raises(PromptSetError, match="no playbook named 'vip'; the playbooks are"):
        load_named_playbook(real_prompts_dir, "vip")


def test_the_shipped_playbooks_all_load(real_prompts_dir: Path) -> None:
    books, errors = check_playbooks(real_prompts_dir)

    assert errors == []
    assert {book.name for book in books} == {"standard", "enterprise"}


def test_prompts_check_fails_on_a_broken_mapping_naming_file_and_line(
    prompt_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from app.cli import cli

    monkeypatch.delenv("TACTFUL_PROMPTS_DIR", raising=False)
    path = prompt_dir / "playbooks.yaml"
    write(
        path,
        "default: standard\nplaybooks:\n  standard:\n    dir: .\n    channels: [C0A1]\n"
        "  vip:\n    dir: playbooks/vip\n    channels: [C0A1]\n    sign_of_name: Sam\n",
    )

    result = CliRunner().invoke(cli, ["prompts", "check", str(prompt_dir)])

    assert result.exit_code == 1
    assert f"{path}:9: unknown key 'playbooks.vip.sign_of_name'" in result.output


def test_prompts_check_names_every_playbook_and_its_version(real_prompts_dir: Path) -> None:
    from typer.testing import CliRunner

    from app.cli import cli

    result = CliRunner().invoke(cli, ["prompts", "check", str(real_prompts_dir)])

    assert result.exit_code == 0, result.output
    for name in ("standard", "enterprise"):
        book = load_named_playbook(real_prompts_dir, name)
        assert f"{name} (" in result.output and book.version in result.output

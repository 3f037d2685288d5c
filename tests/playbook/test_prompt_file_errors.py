"""A manager breaks a prompt file: every problem is reported with its file and line.

Each test starts from a copy of the real prompts folder, breaks one thing the
way an editor in a hurry would, and checks that loading refuses the whole
folder with an error pointing at the right line.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.playbook import PromptError, PromptLibrary, PromptSetError, check_examples

DRAFT_FRONT_MATTER = """\
---
name: draft
description: Drafts a reply.
model:
  temperature: 0.4
inputs:
  system:
    brand_voice: Plain words.
    offers: [{id: account_credit, label: Credit, fits: any, limit: up to 50 USD}]
    tone: friendly
  user:
    customer_message: <customer_message>Late again</customer_message>
    guidance: Keep it short.
---
"""

DRAFT_BODY = """\
system:
You draft replies.
{{ brand_voice }}
{% for offer in offers %}
- {{ offer.id }} ({{ offer.limit }})
{% endfor %}
{% if tone %}Tone: {{ tone }}{% endif %}
user:
Agent's instructions: {{ guidance or "none" }}
{{ customer_message }}
"""


def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text)
    return path


def _errors(directory: Path) -> list[PromptError]:
    with pytest.raises(PromptSetError) as caught:
        PromptLibrary.load(directory)
    return caught.value.errors


def _only_error(directory: Path) -> PromptError:
    errors = _errors(directory)
    assert len(errors) == 1, [str(e) for e in errors]
    return errors[0]


def _line_of(path: Path, fragment: str) -> int:
    lines = path.read_text().split("\n")
    return next(number for number, line in enumerate(lines, 1) if fragment in line)


def test_the_minimal_draft_used_below_is_valid(prompt_dir: Path) -> None:
    _write(prompt_dir, "draft.prompt.md", DRAFT_FRONT_MATTER + DRAFT_BODY)

    library = PromptLibrary.load(prompt_dir)

    assert check_examples(library) == []


def test_invalid_yaml_points_at_the_line_of_the_mistake(prompt_dir: Path) -> None:
    text = DRAFT_FRONT_MATTER.replace(
        "description: Drafts a reply.", "description: Drafts: a reply."
    )
    path = _write(prompt_dir, "draft.prompt.md", text + DRAFT_BODY)

    error = _only_error(prompt_dir)

    assert error.path == path
    assert error.line == 3 == _line_of(path, "description:")
    assert "front matter is not valid YAML" in error.message


def test_a_misspelt_front_matter_key_is_rejected_at_its_line(prompt_dir: Path) -> None:
    text = DRAFT_FRONT_MATTER.replace("  temperature: 0.4", "  temprature: 0.4")
    path = _write(prompt_dir, "draft.prompt.md", text + DRAFT_BODY)

    error = _only_error(prompt_dir)

    assert error.line == 5 == _line_of(path, "temprature")
    assert error.problem == "unknown key 'model.temprature'"
    assert error.fix == "allowed here: name, temperature, max_tokens"  # says what was meant


def test_an_out_of_range_temperature_is_reported_at_its_line(prompt_dir: Path) -> None:
    text = DRAFT_FRONT_MATTER.replace("temperature: 0.4", "temperature: 7")
    _write(prompt_dir, "draft.prompt.md", text + DRAFT_BODY)

    error = _only_error(prompt_dir)

    assert error.line == 5
    assert error.message.startswith("model.temperature:")


def test_a_missing_description_is_reported_on_line_one(prompt_dir: Path) -> None:
    text = DRAFT_FRONT_MATTER.replace("description: Drafts a reply.\n", "")
    _write(prompt_dir, "draft.prompt.md", text + DRAFT_BODY)

    error = _only_error(prompt_dir)

    assert (error.line, error.message) == (
        1,
        "missing key 'description'; add 'description:' with a value",
    )


def test_a_file_without_front_matter_is_rejected(prompt_dir: Path) -> None:
    path = _write(prompt_dir, "draft.prompt.md", DRAFT_BODY)

    error = _only_error(prompt_dir)

    assert (error.path, error.line) == (path, 1)
    assert "must start with a '---' line" in error.message


def test_a_name_that_differs_from_the_file_name_is_rejected(prompt_dir: Path) -> None:
    text = DRAFT_FRONT_MATTER.replace("name: draft", "name: drafts")
    _write(prompt_dir, "draft.prompt.md", text + DRAFT_BODY)

    error = _only_error(prompt_dir)

    assert error.line == 2
    assert str(error) == (
        f"{error.path}:2: name 'drafts' does not match the file name; "
        "write 'name: draft', or rename the file"
    )


def test_a_jinja_syntax_error_is_reported_at_its_line_in_the_file(prompt_dir: Path) -> None:
    body = DRAFT_BODY.replace("{% endif %}", "{% endfi %}")
    path = _write(prompt_dir, "draft.prompt.md", DRAFT_FRONT_MATTER + body)

    error = _only_error(prompt_dir)

    assert error.line == _line_of(path, "{% endfi %}") == 21
    assert "template syntax error" in error.message and "endfi" in error.message


def test_an_unknown_filter_is_reported_at_its_line(prompt_dir: Path) -> None:
    body = DRAFT_BODY.replace("{{ customer_message }}", "{{ customer_message | shout }}")
    path = _write(prompt_dir, "draft.prompt.md", DRAFT_FRONT_MATTER + body)

    error = _only_error(prompt_dir)

    assert error.line == _line_of(path, "| shout")
    assert "No filter named 'shout'" in error.message


def test_a_misspelt_variable_is_named_with_what_is_declared(prompt_dir: Path) -> None:
    body = DRAFT_BODY.replace("{% for offer", "{{ customr_message }}\n{% for offer")
    path = _write(prompt_dir, "draft.prompt.md", DRAFT_FRONT_MATTER + body)

    error = _only_error(prompt_dir)

    assert str(error) == (
        f"{path}:18: unknown variable 'customr_message'; "
        "use a declared input (system: brand_voice, offers, tone)"
    )
    assert _line_of(path, "customr_message") == 18


def test_customer_text_used_in_a_system_section_is_refused(prompt_dir: Path) -> None:
    body = DRAFT_BODY.replace("You draft replies.", "You draft replies to {{ customer_message }}.")
    path = _write(prompt_dir, "draft.prompt.md", DRAFT_FRONT_MATTER + body)

    error = _only_error(prompt_dir)

    assert error.line == _line_of(path, "You draft replies to")
    assert error.message.startswith(
        "'customer_message' is a user input and cannot be used in a system section"
    )


def test_declaring_customer_text_as_a_system_input_is_refused(prompt_dir: Path) -> None:
    # Moving the declaration would otherwise be a way round the rule above.
    declared = "    customer_message: <customer_message>Late again</customer_message>\n"
    text = DRAFT_FRONT_MATTER.replace("  user:\n" + declared, declared + "  user:\n")
    path = _write(prompt_dir, "draft.prompt.md", text + DRAFT_BODY)

    error = _only_error(prompt_dir)

    assert error.line == _line_of(path, "customer_message: <customer_message>") == 11
    assert error.message == (
        "'customer_message' carries customer text and can only be declared under inputs.user; "
        "move it there"
    )


def test_an_input_the_pipeline_never_passes_is_refused(prompt_dir: Path) -> None:
    text = DRAFT_FRONT_MATTER.replace(
        "    tone: friendly\n", "    tone: friendly\n    mood: calm\n"
    )
    path = _write(prompt_dir, "draft.prompt.md", text + DRAFT_BODY)

    error = _only_error(prompt_dir)

    assert error.line == _line_of(path, "mood: calm")
    assert "the pipeline does not pass 'mood' to the 'draft' prompt" in error.message


def test_an_example_of_the_wrong_shape_is_refused(prompt_dir: Path) -> None:
    text = DRAFT_FRONT_MATTER.replace(
        "    offers: [{id: account_credit, label: Credit, fits: any, limit: up to 50 USD}]",
        "    offers: account credit up to 50 USD",
    )
    path = _write(prompt_dir, "draft.prompt.md", text + DRAFT_BODY)

    error = _only_error(prompt_dir)

    assert error.line == _line_of(path, "offers: account credit")
    assert error.message.startswith("the example for 'offers' should be a list")


def test_a_file_without_a_user_section_is_refused(prompt_dir: Path) -> None:
    body = DRAFT_BODY.split("user:\n")[0]
    path = _write(prompt_dir, "draft.prompt.md", DRAFT_FRONT_MATTER + body)

    error = _only_error(prompt_dir)

    assert error.path == path
    assert error.line == _line_of(path, "You draft replies.") - 1  # the body's first line
    assert error.message.startswith("no 'user:' section")


def test_text_before_the_first_section_marker_is_refused(prompt_dir: Path) -> None:
    path = _write(prompt_dir, "draft.prompt.md", DRAFT_FRONT_MATTER + "Hello\n" + DRAFT_BODY)

    error = _only_error(prompt_dir)

    assert error.line == _line_of(path, "Hello")
    assert "text before the first 'system:' or 'user:' line" in error.message


def test_a_template_that_breaks_on_its_own_examples_is_refused(prompt_dir: Path) -> None:
    text = DRAFT_FRONT_MATTER.replace(
        "[{id: account_credit, label: Credit, fits: any, limit: up to 50 USD}]",
        "[{id: account_credit, label: Credit, fits: any}]",
    )
    path = _write(prompt_dir, "draft.prompt.md", text + DRAFT_BODY)

    error = _only_error(prompt_dir)

    assert error.line == _line_of(path, "{{ offer.limit }}")
    assert "has no attribute 'limit'" in error.message
    assert "(rendering with its example inputs)" in error.message


def test_a_template_that_breaks_when_an_optional_input_is_empty_is_refused(
    prompt_dir: Path,
) -> None:
    # Works while the agent gives guidance; the pipeline often passes None.
    text = DRAFT_FRONT_MATTER
    body = DRAFT_BODY.replace(
        "{{ customer_message }}", "{{ customer_message }}\n{{ guidance.upper() }}"
    )
    path = _write(prompt_dir, "draft.prompt.md", text + body)

    error = _only_error(prompt_dir)

    assert error.line == _line_of(path, "guidance.upper()")
    assert "(rendering with optional inputs left empty)" in error.message


def test_a_missing_pipeline_prompt_and_a_missing_brand_voice_are_reported(
    prompt_dir: Path,
) -> None:
    (prompt_dir / "tone.prompt.md").unlink()
    (prompt_dir / "brand-voice.md").unlink()

    errors = {(e.path.name, e.problem) for e in _errors(prompt_dir)}

    assert ("tone.prompt.md", "missing: the drafting pipeline needs this prompt") in errors
    assert ("brand-voice.md", "missing: the brand voice is required") in errors


def test_every_broken_file_of_the_folder_is_reported_at_once(prompt_dir: Path) -> None:
    draft = prompt_dir / "draft.prompt.md"
    draft.write_text(draft.read_text().replace("temperature: 0.4", "temperature: -1"))
    tone = prompt_dir / "tone.prompt.md"
    tone.write_text(tone.read_text().replace("{{ brand_voice }}", "{{ brand_vioce }}"))
    brief = prompt_dir / "brief.prompt.md"
    brief.write_text(brief.read_text().replace("name: brief", "name: summary"))
    voice = prompt_dir / "brand-voice.md"
    voice.write_text(voice.read_text().replace("description:", "descripton:"))

    errors = _errors(prompt_dir)

    where = sorted((e.path.name, e.line) for e in errors)
    assert where == [
        ("brand-voice.md", 1),  # description missing
        ("brand-voice.md", _line_of(voice, "descripton:")),
        ("brief.prompt.md", 2),
        ("draft.prompt.md", _line_of(draft, "temperature: -1")),
        ("tone.prompt.md", _line_of(tone, "brand_vioce")),
    ]


def test_several_errors_in_one_file_are_all_reported_in_line_order(prompt_dir: Path) -> None:
    text = DRAFT_FRONT_MATTER.replace("name: draft", "name: drafts")
    body = DRAFT_BODY.replace("{{ brand_voice }}", "{{ brand_vioce }}").replace(
        '{{ guidance or "none" }}', '{{ guidance or "none" }'
    )
    _write(prompt_dir, "draft.prompt.md", text + body)

    lines = [e.line for e in _errors(prompt_dir)]

    assert lines == [2, 17, 23]


def test_a_prompt_file_that_is_not_utf8_is_refused(prompt_dir: Path) -> None:
    path = prompt_dir / "draft.prompt.md"
    path.write_bytes((DRAFT_FRONT_MATTER + DRAFT_BODY).encode("utf-8") + b"\xff\xfe")

    error = _only_error(prompt_dir)

    assert error.path == path and "not UTF-8" in error.message


def test_a_key_written_twice_in_front_matter_is_refused_at_the_second(prompt_dir: Path) -> None:
    # YAML alone would keep the second temperature and say nothing.
    text = DRAFT_FRONT_MATTER.replace(
        "  temperature: 0.4\n", "  temperature: 0.4\n  temperature: 1\n"
    )
    path = _write(prompt_dir, "draft.prompt.md", text + DRAFT_BODY)

    error = _only_error(prompt_dir)

    assert error.line == _line_of(path, "temperature: 1") == 6
    assert error.problem == "duplicate key 'temperature' (first on line 5)"

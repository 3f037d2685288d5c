"""The one YAML reader: values, the file line of each key, and no silently dropped keys."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from app.playbook import PromptSetError, parse_yaml

PATH = Path("prompts/example.yaml")


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    size: int


class Listing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[Item]


def test_a_pydantic_error_path_points_at_the_key_in_the_file() -> None:
    text = "# header\nitems:\n  - name: a\n    size: 1\n  - name: b\n    size: big\n"

    with pytest.raises(PromptSetError) as caught:
        parse_yaml(PATH, text).validate(Listing)

    (error,) = caught.value.errors
    assert str(error) == (
        "prompts/example.yaml:6: items[1].size: Input should be a valid integer, "
        "unable to parse string as an integer (got 'big')"
    )


def test_lines_count_from_where_the_yaml_starts_in_the_file() -> None:
    document = parse_yaml(PATH, "items:\n  - name: a\n    size: 1\n", first_line=2, whole_line=1)

    assert document.line_of(("items", 0, "size")) == 4
    assert document.line_of(("items", 5)) == 2  # no such item: the nearest key that exists
    assert document.line_of(()) == 1


def test_anchors_and_merge_keys_are_not_mistaken_for_duplicates() -> None:
    text = "base: &base {name: a, size: 1}\nitems:\n  - *base\n  - <<: *base\n    size: 2\n"

    data = parse_yaml(PATH, text).data

    assert data == {
        "base": {"name": "a", "size": 1},
        "items": [{"name": "a", "size": 1}, {"name": "a", "size": 2}],
    }


def test_every_key_written_twice_is_reported_at_its_second_line() -> None:
    text = "a: 1\nb:\n  c: 1\n  c: 2\na: 3\n"

    with pytest.raises(PromptSetError) as caught:
        parse_yaml(PATH, text)

    assert [(e.line, e.problem) for e in caught.value.errors] == [
        (4, "duplicate key 'c' (first on line 3)"),
        (5, "duplicate key 'a' (first on line 1)"),
    ]


def test_python_tags_are_refused_as_invalid_yaml() -> None:
    with pytest.raises(PromptSetError) as caught:
        parse_yaml(PATH, "a: !!python/object/apply:os.system ['true']\n")

    (error,) = caught.value.errors
    assert error.line == 1 and "not valid YAML" in error.problem

"""Front matter of a prompt file: split it off, parse it, validate it, point at lines.

A file starts with ``---``, YAML, ``---``, then the body. The YAML goes
through the playbook's one YAML reader, told that it starts on the file's
second line, so every problem is reported at its line *in the file*.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from app.playbook._errors import PromptError
from app.playbook._yaml import YamlDocument, parse_yaml

M = TypeVar("M", bound=BaseModel)

_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
_NAME_HINT = "lower-case letters, digits, '-' and '_', like the file name"
_FENCE = re.compile(r"^---[ \t]*$")
_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ModelSettings(BaseModel):
    """``model:`` in front matter: sampling settings sent with this prompt."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, gt=0)


class DeclaredInputs(BaseModel):
    """``inputs:``: the variables each kind of section may use, with example values."""

    model_config = ConfigDict(extra="forbid")

    system: dict[str, Any] = Field(default_factory=dict)
    user: dict[str, Any] = Field(default_factory=dict)


class PromptFrontMatter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=_NAME_PATTERN, description=_NAME_HINT)
    description: str = Field(min_length=1)
    version_notes: str | None = None
    model: ModelSettings = Field(default_factory=ModelSettings)
    inputs: DeclaredInputs = Field(default_factory=DeclaredInputs)


class TextFrontMatter(BaseModel):
    """Front matter of a plain text file such as ``brand-voice.md``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=_NAME_PATTERN, description=_NAME_HINT)
    description: str = Field(min_length=1)
    version_notes: str | None = None


@dataclass(frozen=True)
class SplitFile:
    """A file cut in two: the parsed front matter and the body after it."""

    front: YamlDocument
    body: str
    body_start_line: int  # file line of the body's first line

    def line_of(self, loc: Sequence[str | int]) -> int:
        """File line of the deepest key of ``loc`` that exists; line 1 if none does."""
        return self.front.line_of(loc)


def split_front_matter(path: Path, text: str) -> SplitFile:
    """Cut ``text`` at its ``---`` fences and parse the YAML between them."""
    lines = text.split("\n")
    if not lines or not _FENCE.match(lines[0]):
        raise PromptError(
            path,
            1,
            "the file must start with a '---' line opening the front matter",
            "add '---', then 'name:' and 'description:' lines, then '---' above the text",
        )
    closing = next((i for i in range(1, len(lines)) if _FENCE.match(lines[i])), None)
    if closing is None:
        raise PromptError(
            path,
            1,
            "the front matter opened on line 1 is never closed",
            "add a '---' line after the last front matter key",
        )
    front = parse_yaml(
        path, "\n".join(lines[1:closing]), first_line=2, whole_line=1, label="front matter"
    )
    body = "\n".join(lines[closing + 1 :])
    return SplitFile(front=front, body=body, body_start_line=closing + 2)


def check_name(path: Path, split: SplitFile, name: str, expected: str) -> None:
    if name != expected:
        raise PromptError(
            path,
            split.line_of(["name"]),
            f"name '{name}' does not match the file name",
            f"write 'name: {expected}', or rename the file",
        )


def check_variable_names(path: Path, split: SplitFile, inputs: DeclaredInputs) -> list[PromptError]:
    errors = []
    for role, declared in (("system", inputs.system), ("user", inputs.user)):
        for variable in declared:
            if not _VARIABLE.match(variable):
                errors.append(
                    PromptError(
                        path,
                        split.line_of(["inputs", role, variable]),
                        f"'{variable}' is not a usable variable name",
                        "use only letters, digits and _, not starting with a digit",
                    )
                )
    for variable in sorted(inputs.system.keys() & inputs.user.keys()):
        errors.append(
            PromptError(
                path,
                split.line_of(["inputs", "user", variable]),
                f"'{variable}' is declared under both inputs.system and inputs.user",
                "keep one",
            )
        )
    return errors

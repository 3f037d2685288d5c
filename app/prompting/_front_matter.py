"""Front matter of a prompt file: split it off, parse it, validate it, point at lines.

A file starts with ``---``, YAML, ``---``, then the body. Every problem is
reported as a ``PromptError`` carrying the line *in the file* (YAML marks are
zero-based and count from the line after the opening ``---``, so they are
shifted here once). A file can have several problems; all are reported.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.prompting._yaml_lines import yaml_line_of
from app.prompting.errors import PromptError, PromptSetError

M = TypeVar("M", bound=BaseModel)

_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
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

    name: str = Field(pattern=_NAME_PATTERN)
    description: str = Field(min_length=1)
    version_notes: str | None = None
    model: ModelSettings = Field(default_factory=ModelSettings)
    inputs: DeclaredInputs = Field(default_factory=DeclaredInputs)


class TextFrontMatter(BaseModel):
    """Front matter of a plain text file such as ``brand-voice.md``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=_NAME_PATTERN)
    description: str = Field(min_length=1)
    version_notes: str | None = None


@dataclass(frozen=True)
class SplitFile:
    """A file cut in two: the parsed front matter and the body after it."""

    data: dict[str, Any]
    node: yaml.Node
    body: str
    body_start_line: int  # file line of the body's first line

    def line_of(self, loc: Sequence[str | int]) -> int:
        """File line of the deepest key of ``loc`` that exists; line 1 if none does."""
        return yaml_line_of(self.node, loc, offset=2, default=1)


def split_front_matter(path: Path, text: str) -> SplitFile:
    """Cut ``text`` at its ``---`` fences and parse the YAML between them."""
    lines = text.split("\n")
    if not lines or not _FENCE.match(lines[0]):
        raise PromptError(path, 1, "the file must start with a '---' line opening the front matter")
    closing = next((i for i in range(1, len(lines)) if _FENCE.match(lines[i])), None)
    if closing is None:
        raise PromptError(path, 1, "the front matter opened on line 1 is never closed with '---'")
    yaml_text = "\n".join(lines[1:closing])
    loader = yaml.SafeLoader(yaml_text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 2 if mark is not None else 1
        raise PromptError(path, line, f"front matter is not valid YAML: {exc.problem}") from None
    finally:
        loader.dispose()
    if node is None or not isinstance(data, dict):
        raise PromptError(path, 2, "the front matter must be a mapping of keys (name:, ...)")
    body = "\n".join(lines[closing + 1 :])
    return SplitFile(data=data, node=node, body=body, body_start_line=closing + 2)


def validate_front_matter(path: Path, split: SplitFile, model: type[M]) -> M:
    """``split.data`` as ``model``; every validation error reported at its key's line."""
    try:
        return model.model_validate(split.data)
    except ValidationError as exc:
        raise PromptSetError(
            [_describe(path, split, model, error) for error in exc.errors()]
        ) from None


def check_name(path: Path, split: SplitFile, name: str, expected: str) -> None:
    if name != expected:
        raise PromptError(
            path,
            split.line_of(["name"]),
            f"name '{name}' does not match the file name (expected 'name: {expected}')",
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
                        f"'{variable}' is not a usable variable name (letters, digits, _)",
                    )
                )
    for variable in sorted(inputs.system.keys() & inputs.user.keys()):
        errors.append(
            PromptError(
                path,
                split.line_of(["inputs", "user", variable]),
                f"'{variable}' is declared under both inputs.system and inputs.user; keep one",
            )
        )
    return errors


def _describe(path: Path, split: SplitFile, model: type[BaseModel], error: Any) -> PromptError:
    loc = [part for part in error["loc"] if isinstance(part, str | int)]
    where = ".".join(str(part) for part in loc)
    kind = error["type"]
    if kind == "extra_forbidden":
        parent = loc[:-1]
        allowed = _allowed_keys(model, parent)
        hint = f" (allowed here: {', '.join(allowed)})" if allowed else ""
        message = f"unknown key '{where}'{hint}"
        return PromptError(path, split.line_of(loc), message)
    if kind == "missing":
        return PromptError(path, split.line_of(loc[:-1]), f"missing key '{where}'")
    return PromptError(path, split.line_of(loc), f"{where}: {error['msg']}")


def _allowed_keys(model: type[BaseModel], parent: Sequence[str | int]) -> list[str]:
    for part in parent:
        field = model.model_fields.get(str(part))
        annotation = field.annotation if field is not None else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)

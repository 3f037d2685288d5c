"""The one YAML reader for files managers edit: the values, and the line each came from.

PyYAML composes the text into nodes that carry their position
(``start_mark``). The node tree is kept beside the plain values, so a
problem found later, by pydantic or by a rule of ours, names the line a
manager has to change. Prompt front matter, ``offers.yaml`` and
``guardrails.yaml`` are all read here, and their validation errors are all
worded here.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from app.playbook._errors import PromptError, PromptSetError

M = TypeVar("M", bound=BaseModel)
Loc = Sequence[str | int]

_YAML_FIX = "check the indentation, and put a value that contains ': ' or ' #' in quotes"


@dataclass(frozen=True)
class YamlDocument:
    """Parsed YAML that still knows on which file line each key and item sits."""

    path: Path
    data: object
    root: yaml.Node | None
    first_line: int  # file line of the YAML text's first line
    whole_line: int  # file line blamed for the document as a whole

    def line_of(self, loc: Loc) -> int:
        """File line of the deepest key or item that ``loc`` (a pydantic error path) reaches."""
        node = self.root
        line = self.whole_line
        for part in loc:
            if isinstance(node, yaml.MappingNode):
                found = next((kv for kv in node.value if kv[0].value == str(part)), None)
                if found is None:
                    break
                line = found[0].start_mark.line + self.first_line
                node = found[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                if not 0 <= part < len(node.value):
                    break
                node = node.value[part]
                line = node.start_mark.line + self.first_line
            else:
                break
        return line

    def error(self, loc: Loc, problem: str, fix: str | None = None) -> PromptError:
        return PromptError(self.path, self.line_of(loc), problem, fix)

    def validate(self, model: type[M]) -> M:
        """The document as ``model``; raise ``PromptSetError`` with every problem at its line."""
        if not isinstance(self.data, dict):
            raise PromptSetError([self.error((), "expected a mapping of keys", _keys_fix(model))])
        try:
            return model.model_validate(self.data)
        except ValidationError as exc:
            raise PromptSetError([self._describe(model, e) for e in exc.errors()]) from None

    def _describe(self, model: type[BaseModel], error: Any) -> PromptError:
        loc = tuple(part for part in error["loc"] if isinstance(part, str | int))
        where = dotted(loc)
        kind = error["type"]
        if kind == "extra_forbidden":
            owner = _model_at(model, loc[:-1])
            allowed = f"allowed here: {', '.join(owner.model_fields)}" if owner else None
            return self.error(loc, f"unknown key '{where}'", allowed or "check the spelling")
        if kind == "missing":
            return self.error(loc[:-1], f"missing key '{where}'", f"add '{loc[-1]}:' with a value")
        prefix = f"{where}: " if where else ""
        if kind in ("model_type", "model_attributes_type", "dict_type"):
            owner = _model_at(model, loc)
            return self.error(loc, prefix + "expected a mapping of keys", _keys_fix(owner))
        problem = str(error["msg"]).removeprefix("Value error, ")
        value = error.get("input")
        # Our own validators already quote the value; pydantic's messages do not.
        if isinstance(value, str | int | float | bool) and kind != "value_error":
            problem += f" (got {value!r})"
        fix = None
        if kind == "string_pattern_mismatch" and (hint := _description(model, loc)):
            fix = f"expected {hint}"
        return self.error(loc, prefix + problem, fix)


def parse_yaml(
    path: Path,
    text: str,
    *,
    first_line: int = 1,
    whole_line: int | None = None,
    label: str = "the file",
) -> YamlDocument:
    """Parse ``text`` (found at ``first_line`` of ``path``); refuse bad YAML and equal keys.

    Raises ``PromptSetError``; ``label`` names the text in a syntax error
    ("front matter is not valid YAML").
    """
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        # Before constructing: merge keys (<<) are flattened into the nodes then.
        _refuse_duplicate_keys(path, root, first_line)
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + first_line if mark is not None else None
        problem = exc.problem or exc.context or "unreadable"
        raise PromptSetError(
            [PromptError(path, line, f"{label} is not valid YAML: {problem}", _YAML_FIX)]
        ) from None
    except yaml.YAMLError as exc:
        raise PromptSetError(
            [PromptError(path, None, f"{label} is not valid YAML: {exc}", _YAML_FIX)]
        ) from None
    finally:
        loader.dispose()
    if whole_line is None:
        whole_line = root.start_mark.line + first_line if root is not None else first_line
    return YamlDocument(path, data, root, first_line, whole_line)


def dotted(loc: Loc) -> str:
    """``("offers", 0, "max")`` -> ``offers[0].max``, the way a manager reads the file."""
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")


def _refuse_duplicate_keys(path: Path, root: yaml.Node | None, first_line: int) -> None:
    """Raise ``PromptSetError`` naming every key written twice in one mapping."""
    errors = []
    walked: set[int] = set()  # an aliased node is walked once
    stack = [root] if root is not None else []
    while stack:
        node = stack.pop()
        if id(node) in walked:
            continue
        walked.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first_of: dict[tuple[str, str], yaml.Node] = {}
            for key, value in node.value:
                ident = (key.tag, key.value)
                if isinstance(key, yaml.ScalarNode) and ident in first_of:
                    first = first_of[ident].start_mark.line + first_line
                    errors.append(
                        PromptError(
                            path,
                            key.start_mark.line + first_line,
                            f"duplicate key '{key.value}' (first on line {first})",
                            "keep only one: YAML would silently ignore the first",
                        )
                    )
                elif isinstance(key, yaml.ScalarNode):
                    first_of[ident] = key
                stack.append(value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    if errors:
        raise PromptSetError(errors)


def _keys_fix(model: type[BaseModel] | None) -> str | None:
    if model is None:
        return None
    return f"write the keys {', '.join(model.model_fields)} each on its own line, as 'key: value'"


def _model_at(model: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The pydantic model that ``loc`` inside ``model`` points at, if it is one."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            args = typing.get_args(current)
            current = args[0] if args else None
        elif isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(part)
            current = field.annotation if field is not None else None
        else:
            return None
        if isinstance(current, types.UnionType):
            current = next((a for a in typing.get_args(current) if a is not type(None)), None)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _description(model: type[BaseModel], loc: Loc) -> str | None:
    """The ``Field(description=...)`` of the key ``loc`` ends on, to hint at a valid value."""
    owner = _model_at(model, loc[:-1]) if loc else None
    field = owner.model_fields.get(str(loc[-1])) if owner is not None else None
    return field.description if field is not None else None

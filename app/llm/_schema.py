"""How a pydantic schema travels in a chat request, in both structured-output modes.

``json_schema`` mode sends OpenAI's strict structured-output format, which
only accepts a subset of JSON Schema: every object closed
(``additionalProperties: false``), every property listed as required, no
``$ref`` with sibling keys.  ``strict_json_schema`` turns what pydantic
generates into that subset without changing what validates.

``json_object`` mode is for servers without ``json_schema`` (llama-cpp-python
takes ``{"type": "json_object", "schema": ...}``); the schema also goes into
the system message because some servers ignore ``response_format`` entirely.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from pydantic import BaseModel

from app.domain.models import ChatMessage

_SCHEMA_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def strict_json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON schema of ``model`` in the form OpenAI's ``strict: true`` accepts.

    Optional fields become required but keep their ``null`` branch, so the
    model says ``null`` instead of leaving the key out and pydantic still
    accepts the reply.  A free-form ``dict[str, X]`` field keeps its
    ``additionalProperties`` schema: strict mode cannot express it, the
    server rejects it, and ``auto`` mode falls back to ``json_object``.
    """
    return _strict_schema_of(model)


@functools.cache
def _strict_schema_of(model: type[BaseModel]) -> dict[str, Any]:
    # Built once per model class: it goes out with every request. Callers only read it.
    root = model.model_json_schema()
    return _strict_node(root, root=root, inlining=frozenset())


def schema_name(model: type[BaseModel]) -> str:
    # OpenAI allows [A-Za-z0-9_-]{1,64}; generic models are named like "Page[Item]".
    return _SCHEMA_NAME_UNSAFE.sub("_", model.__name__)[:64] or "Reply"


def json_schema_response_format(model: type[BaseModel]) -> dict[str, Any]:
    return {
        "type": "json_schema",
        "json_schema": {
            "name": schema_name(model),
            "schema": strict_json_schema(model),
            "strict": True,
        },
    }


def json_object_response_format(model: type[BaseModel]) -> dict[str, Any]:
    return {"type": "json_object", "schema": strict_json_schema(model)}


@functools.cache
def schema_instruction(model: type[BaseModel]) -> str:
    schema_text = json.dumps(strict_json_schema(model), separators=(",", ":"))
    return f"Reply with one JSON object that matches this JSON schema: {schema_text}"


def with_schema_instruction(
    messages: list[ChatMessage], model: type[BaseModel]
) -> list[ChatMessage]:
    """``messages`` with the schema spelled out in the system message.

    The instruction joins the first system message rather than arriving as a
    second one: several local chat templates reject a system message that
    is not the first message.
    """
    instruction = schema_instruction(model)
    if messages and messages[0].role == "system":
        first = messages[0]
        merged = ChatMessage(role="system", content=f"{first.content}\n\n{instruction}")
        return [merged, *messages[1:]]
    return [ChatMessage(role="system", content=instruction), *messages]


def _strict_node(
    node: dict[str, Any], *, root: dict[str, Any], inlining: frozenset[str]
) -> dict[str, Any]:
    """A strict copy of one schema node; ``root`` is never modified."""
    node = dict(node)
    # Every key is required in strict mode, so a default can never apply.
    node.pop("default", None)

    all_of = node.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], dict):
        # Older pydantic wraps an annotated reference in a one-item allOf.
        node.pop("allOf")
        node = {**all_of[0], **node}

    ref = node.get("$ref")
    if isinstance(ref, str) and len(node) > 1:
        siblings = {key: value for key, value in node.items() if key != "$ref"}
        if ref in inlining:
            # A self-referencing model: inlining again would never end, so keep
            # the bare reference and lose only the annotation beside it.
            return {"$ref": ref}
        resolved = _resolve_ref(root, ref)
        return _strict_node({**resolved, **siblings}, root=root, inlining=inlining | {ref})

    def strict(child: Any) -> Any:
        if isinstance(child, dict):
            return _strict_node(child, root=root, inlining=inlining)
        return child

    for key in ("$defs", "definitions", "properties"):
        children = node.get(key)
        if isinstance(children, dict):
            node[key] = {name: strict(schema) for name, schema in children.items()}

    if "oneOf" in node:
        # Strict mode has no oneOf; anyOf accepts the same replies here because
        # pydantic still decides the branch when it validates.
        node["anyOf"] = node.pop("oneOf")
        node.pop("discriminator", None)
    for key in ("anyOf", "allOf", "prefixItems"):
        children = node.get(key)
        if isinstance(children, list):
            node[key] = [strict(schema) for schema in children]

    for key in ("items", "additionalProperties"):
        child = node.get(key)
        if isinstance(child, dict):
            node[key] = strict(child)

    if node.get("type") == "object" or isinstance(node.get("properties"), dict):
        node.setdefault("additionalProperties", False)
        node["required"] = list(node.get("properties", {}))
    return node


def _resolve_ref(root: dict[str, Any], ref: str) -> dict[str, Any]:
    if not ref.startswith("#/"):
        raise ValueError(f"cannot resolve JSON schema reference {ref!r}: only local refs are used")
    target: Any = root
    for part in ref[2:].split("/"):
        if not isinstance(target, dict) or part not in target:
            raise ValueError(f"JSON schema reference {ref!r} points nowhere")
        target = target[part]
    if not isinstance(target, dict):
        raise ValueError(f"JSON schema reference {ref!r} is not a schema object")
    return target

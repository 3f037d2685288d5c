"""strict_json_schema: what pydantic generates, made acceptable to OpenAI's strict mode.

Strict mode wants every object closed and every property required, and no
``$ref`` with keys beside it.  These tests walk the converted schemas and
check that a reply pydantic accepts still fits them.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field

from app.domain.models import BriefOutput, DraftOutput, TriageOutput
from app.llm import strict_json_schema


def objects_in(schema: Any) -> Iterator[dict[str, Any]]:
    """Every schema node that describes an object, however deeply nested."""
    if isinstance(schema, dict):
        if schema.get("type") == "object" or "properties" in schema:
            yield schema
        for value in schema.values():
            yield from objects_in(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from objects_in(item)


def keys_in(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        for key, value in schema.items():
            yield key
            yield from keys_in(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from keys_in(item)


@pytest.mark.parametrize("model", [TriageOutput, DraftOutput, BriefOutput])
def test_every_object_of_the_llm_schemas_is_closed_and_fully_required(
    model: type[BaseModel],
) -> None:
    schema = strict_json_schema(model)

    objects = list(objects_in(schema))
    assert objects, "the schema has no objects at all"
    for node in objects:
        assert node["additionalProperties"] is False, node.get("title")
        assert node["required"] == list(node["properties"]), node.get("title")


def test_draft_schema_keeps_its_defs_and_refs_and_the_nullable_amount() -> None:
    schema = strict_json_schema(DraftOutput)

    assert set(schema["$defs"]) == {"OfferProposal", "Step", "StepEvidence"}
    assert schema["properties"]["offers"]["items"] == {"$ref": "#/$defs/OfferProposal"}
    amount = schema["$defs"]["OfferProposal"]["properties"]["amount"]
    assert {"type": "null"} in amount["anyOf"]
    assert schema["$defs"]["Step"]["enum"][0] == "acknowledge"


class Channel(StrEnum):
    EMAIL = "email"
    CHAT = "chat"


class Contact(BaseModel):
    channel: Channel = Field(description="where the customer wrote from")
    note: str | None = None
    retries: int = 0
    tags: list[str] = Field(default_factory=list)


def test_the_schema_pydantic_generates_is_left_untouched() -> None:
    before = Contact.model_json_schema()

    strict = strict_json_schema(Contact)

    assert strict["additionalProperties"] is False
    assert Contact.model_json_schema() == before
    assert "additionalProperties" not in before
    assert before["required"] == ["channel"]


def test_optional_fields_become_required_but_stay_nullable_and_lose_their_defaults() -> None:
    schema = strict_json_schema(Contact)

    assert schema["required"] == ["channel", "note", "retries", "tags"]
    assert {"type": "null"} in schema["properties"]["note"]["anyOf"]
    assert "default" not in set(keys_in(schema))
    # A complete reply, as strict mode makes the model write it, still validates.
    reply = Contact.model_validate({"channel": "chat", "note": None, "retries": 0, "tags": []})
    assert reply.channel is Channel.CHAT


def test_a_reference_with_a_description_beside_it_is_inlined() -> None:
    channel = strict_json_schema(Contact)["properties"]["channel"]

    assert "$ref" not in channel
    assert channel["enum"] == ["email", "chat"]
    assert channel["description"] == "where the customer wrote from"


class Cat(BaseModel):
    kind: Literal["cat"]
    indoor: bool


class Dog(BaseModel):
    kind: Literal["dog"]
    walks_per_day: int


class Pet(BaseModel):
    animal: Cat | Dog = Field(discriminator="kind")


def test_a_discriminated_union_becomes_an_any_of_of_closed_objects() -> None:
    animal = strict_json_schema(Pet)["properties"]["animal"]

    assert "oneOf" not in animal and "discriminator" not in animal
    assert animal["anyOf"] == [{"$ref": "#/$defs/Cat"}, {"$ref": "#/$defs/Dog"}]


class Task(BaseModel):
    title: str
    blocked_by: Task = Field(description="the task that must finish first")
    next: Task | None = None


def test_a_self_referencing_model_converts_without_endless_inlining() -> None:
    schema = strict_json_schema(Task)

    # OpenAI wants an object at the root, not a bare reference to one.
    assert schema["type"] == "object"
    assert schema["required"] == ["title", "blocked_by", "next"]
    assert schema["properties"]["blocked_by"] == {"$ref": "#/$defs/Task"}
    assert schema["$defs"]["Task"]["additionalProperties"] is False

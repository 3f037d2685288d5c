"""The eval case file format: one YAML file per case, validated strictly, errors at file:line.

A case is what an agent would have in front of them (the customer's message,
the thread so far, the channel context, their guidance, the offers they may
make) and what a good draft must and must not do (``Expectations``).  Files
are read with the playbook's line-numbered YAML reader, so an unknown key or
a bad value is reported as ``evals/late-parcel.yaml:12: ...`` like any other
file a manager edits.  The format is documented in ``evals/README.md``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.domain.models import Complaint, Step, ThreadMessage
from app.domain.offers import OfferCatalog
from app.playbook import PromptError, PromptSetError, parse_yaml

CASE_SUFFIXES = (".yaml", ".yml")
_ID = r"^[a-z0-9][a-z0-9_.-]{0,79}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HistoryMessage(_Strict):
    """An earlier message of the thread, oldest first."""

    author: Literal["customer", "agent", "bot"]
    text: str = Field(min_length=1)


class OfferCount(_Strict):
    min: int = Field(default=0, ge=0)
    max: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> OfferCount:
        if self.max is not None and self.max < self.min:
            raise ValueError(f"max ({self.max}) is below min ({self.min})")
        return self


class Expectations(_Strict):
    """What the draft must do; every key is optional and each one is scored on its own."""

    offers_allowed: list[str] | None = None
    offers_forbidden: list[str] = Field(default_factory=list)
    offers_count: OfferCount | None = None
    steps_covered: list[Step] = Field(default_factory=list)
    must_not_match: list[str] = Field(default_factory=list)
    language: str | None = Field(
        default=None, pattern=r"^[a-z]{2}$", description="an ISO 639-1 code such as de"
    )
    escalate: bool | None = None
    max_chars: int | None = Field(default=None, gt=0)
    reply_required: bool | None = None

    @field_validator("must_not_match")
    @classmethod
    def _patterns_compile(cls, patterns: list[str]) -> list[str]:
        # Managers write these, so Python's re (with its full syntax) is the right engine.
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(
                    f"pattern {pattern!r} is not a valid regular expression: {exc}"
                ) from None
        return patterns

    def names(self) -> list[str]:
        """The expectations this case sets, in a fixed order."""
        return [name for name in EXPECTATIONS if _is_set(getattr(self, name))]


# Every expectation, in the order reports list them.
EXPECTATIONS: tuple[str, ...] = tuple(Expectations.model_fields)


def _is_set(value: object) -> bool:
    return value is not None and value != []


class EvalCase(_Strict):
    """One case file."""

    id: str = Field(pattern=_ID, description="lower-case letters, digits, '-', '_' or '.'")
    description: str | None = None
    customer_message: str = Field(min_length=1)
    customer_name: str | None = None
    history: list[HistoryMessage] = Field(default_factory=list)
    channel_context: str | None = None
    guidance: str | None = None
    tone: Literal["friendly", "formal", "concise", "warmer"] | None = None
    # A message the bot saw in a watched channel (no agent asked): it may need no reply.
    watched: bool = False
    # An e-mail or chat an agent pasted into a relay channel: the reply greets customer_name
    # and goes out by e-mail or chat; guidance is the agent's note above the paste.
    relayed: bool = False
    catalog: OfferCatalog | None = None
    playbook: str | None = Field(default=None, min_length=1)
    # The reply an agent actually sent (from `tactful eval import`): shown, never scored.
    reference_reply: str | None = None
    expect: Expectations = Field(default_factory=Expectations)

    @model_validator(mode="after")
    def _one_catalog_source(self) -> EvalCase:
        if self.catalog is not None and self.playbook is not None:
            raise ValueError("give either catalog or playbook, not both")
        return self

    def complaint(self) -> Complaint:
        return Complaint(
            text=self.customer_message,
            customer_name=self.customer_name,
            channel_context=self.channel_context,
            history=[
                ThreadMessage(author=m.author, text=m.text, relayed=self.relayed)
                for m in self.history
            ],
            relayed=self.relayed,
        )


class LoadedCase(BaseModel):
    """A case and where it came from, for errors that point at its file and line."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    case: EvalCase
    path: Path
    playbook_line: int | None = None

    @property
    def id(self) -> str:
        return self.case.id


def case_files(target: Path) -> list[Path]:
    """``target`` itself, or every case file under it (recursively), in name order."""
    if target.is_file():
        return [target]
    if not target.is_dir():
        raise PromptSetError([PromptError(target, None, "no such file or directory")])
    return sorted(p for p in target.rglob("*") if p.is_file() and p.suffix in CASE_SUFFIXES)


def load_cases(target: Path) -> list[LoadedCase]:
    """Every case in ``target``; raise ``PromptSetError`` listing every problem of every file."""
    errors: list[PromptError] = []
    cases: list[LoadedCase] = []
    first_seen: dict[str, LoadedCase] = {}
    for path in case_files(target):
        try:
            loaded = load_case(path)
        except PromptSetError as exc:
            errors.extend(exc.errors)
            continue
        if (earlier := first_seen.get(loaded.id)) is not None:
            errors.append(
                PromptError(
                    path,
                    None,
                    f"case id '{loaded.id}' is already used by {earlier.path}",
                    "give every case its own id",
                )
            )
            continue
        first_seen[loaded.id] = loaded
        cases.append(loaded)
    if errors:
        raise PromptSetError(errors)
    if not cases:
        raise PromptSetError(
            [PromptError(target, None, "no case files (*.yaml) found", "see evals/README.md")]
        )
    return cases


def load_case(path: Path) -> LoadedCase:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise PromptSetError([PromptError(path, None, "not UTF-8 text")]) from None
    document = parse_yaml(path, text)
    case = document.validate(EvalCase)
    line = document.line_of(("playbook",)) if case.playbook is not None else None
    return LoadedCase(case=case, path=path, playbook_line=line)

"""What the drafting pipeline passes to each prompt: the contract prompt files must keep.

A prompt file declares its inputs in front matter, and that declaration is
what decides which variables a ``system:`` section may use. Managers edit
the declaration, so it cannot be the last word on security: this module is.
It lists, in code, every input the pipeline really passes to each prompt and
whether it carries customer text. Loading a library checks each file against
it, so a manager who moves ``customer_message`` under ``inputs.system`` or
asks for an input the pipeline never sends learns it from
``tactful prompts check``, not from a failed draft in production.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

InputKind = Literal["text", "text_or_none", "list", "mapping", "flag"]
Role = Literal["system", "user"]


@dataclass(frozen=True)
class InputSpec:
    kind: InputKind
    # May arrive empty ("" or None): check_examples also renders that case.
    may_be_blank: bool = False

    def accepts(self, value: object) -> bool:
        if self.kind == "text":
            return isinstance(value, str)
        if self.kind == "text_or_none":
            return value is None or isinstance(value, str)
        if self.kind == "list":
            return isinstance(value, list)
        if self.kind == "flag":
            return isinstance(value, bool)
        return isinstance(value, dict)

    @property
    def blank(self) -> object:
        return {"text": "", "text_or_none": None, "list": [], "mapping": {}, "flag": False}[
            self.kind
        ]

    def describe(self) -> str:
        return {
            "text": "a text",
            "text_or_none": "a text or null",
            "list": "a list",
            "mapping": "a mapping",
            "flag": "true or false",
        }[self.kind]


@dataclass(frozen=True)
class PromptContract:
    system: Mapping[str, InputSpec]
    user: Mapping[str, InputSpec]


_TEXT = InputSpec("text")
_OPTIONAL_TEXT = InputSpec("text", may_be_blank=True)
_TEXT_OR_NONE = InputSpec("text_or_none", may_be_blank=True)
_LIST = InputSpec("list")
_OPTIONAL_LIST = InputSpec("list", may_be_blank=True)

PIPELINE_CONTRACTS: Mapping[str, PromptContract] = {
    "draft": PromptContract(
        system={
            "brand_voice": _TEXT,
            "categories": _LIST,
            "offers": _LIST,
            "tone": _TEXT_OR_NONE,
            "agent_name": _TEXT_OR_NONE,
            # The name a reply is signed with (playbooks.yaml sign_off_name).
            "sign_off_name": _TEXT_OR_NONE,
            # True when an agent asked for the draft; a watched message may need none.
            "reply_required": InputSpec("flag", may_be_blank=True),
            # True for a customer's e-mail or chat an agent pasted into a relay channel.
            "relayed": InputSpec("flag", may_be_blank=True),
        },
        user={
            "customer_message": _TEXT,
            "channel_context": _OPTIONAL_TEXT,
            # One fenced <message> element per earlier message (customer_data.history_entries).
            "history": _OPTIONAL_LIST,
            "guidance": _TEXT_OR_NONE,
            # The customer's name as a relayed e-mail or chat gives it, fenced; else empty.
            "customer_name": _OPTIONAL_TEXT,
        },
    ),
    "tone": PromptContract(
        system={
            "brand_voice": _TEXT,
            "offers": _LIST,
            "tone": _TEXT_OR_NONE,
            "sign_off_name": _TEXT_OR_NONE,
        },
        user={
            "customer_message": _TEXT,
            "draft": _TEXT,
            "current_offers": _OPTIONAL_LIST,
            # The agent's pick when it replaces the current offers; empty otherwise.
            "chosen_offers": _OPTIONAL_LIST,
            "guidance": _TEXT_OR_NONE,
        },
    ),
    "brief": PromptContract(
        system={"brand_voice": _OPTIONAL_TEXT},
        # A thread that fits comes as ``thread``; a longer one as the summaries of its ``parts``.
        user={"thread": _OPTIONAL_LIST, "parts": _OPTIONAL_LIST, "channel_context": _OPTIONAL_TEXT},
    ),
    # One part of a thread too long for one call ("part 3 of 7"); its summary goes to "brief".
    "brief-part": PromptContract(
        system={"part": _TEXT},
        user={"thread": _LIST, "channel_context": _OPTIONAL_TEXT},
    ),
}

# The prompts the pipeline cannot work without: a library missing one is refused.
PIPELINE_PROMPTS: tuple[str, ...] = tuple(PIPELINE_CONTRACTS)

# Every input that carries text a customer wrote (or a model wrote from it).
# None of these may ever be declared for, or passed to, a system section,
# whatever prompt file declares it.
CUSTOMER_INPUTS: frozenset[str] = frozenset(
    name for contract in PIPELINE_CONTRACTS.values() for name in contract.user
)

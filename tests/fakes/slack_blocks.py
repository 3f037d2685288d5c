"""Block Kit limits the fake Slack enforces, so oversize cards fail in tests, not in production.

Only limits that Slack documents and really refuses are checked: a payload the
real API would accept must pass here too.  Each problem is reported the way
Slack words it: a reason and a JSON pointer (``[json-pointer:/blocks/3/text]``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_TEXT = 40_000
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_SECTION_FIELDS = 10
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_URL = 3000
MAX_ID = 255
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTIONS_ELEMENTS = 25
MAX_INPUT_LENGTH = 3000
MAX_VIEW_TITLE = 24
MAX_PRIVATE_METADATA = 3000
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_OPTIONS = 100
MAX_OVERFLOW_OPTIONS = 5


@dataclass
class SlackRefusal:
    """Why Slack would refuse a payload: the ``error`` code and readable details."""

    error: str
    messages: list[str] = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"ok": False, "error": self.error}
        if self.messages:
            payload["errors"] = list(self.messages)
            payload["response_metadata"] = {"messages": [f"[ERROR] {m}" for m in self.messages]}
        return payload


def check_message(args: dict[str, Any]) -> SlackRefusal | None:
    """Limits of ``chat.postMessage`` / ``chat.update`` / ``chat.postEphemeral``."""
    text = args.get("text")
    blocks = args.get("blocks")
    if isinstance(text, str) and len(text) > MAX_TEXT:
        return SlackRefusal("msg_too_long")
    if blocks is not None:
        problems = _check_blocks(blocks, "/blocks", MAX_MESSAGE_BLOCKS)
        if problems:
            return SlackRefusal("invalid_blocks", problems)
    if not text and not blocks and not args.get("attachments"):
        return SlackRefusal("no_text")
    return None


def check_view(view: Any) -> SlackRefusal | None:
    """Limits of a modal or Home tab view (``views.open/update/publish``)."""
    if not isinstance(view, dict):
        return SlackRefusal("invalid_arguments", ["view must be an object [json-pointer:/view]"])
    problems: list[str] = []
    kind = view.get("type")
    if kind not in ("modal", "home"):
        problems.append("must be one of modal, home [json-pointer:/view/type]")
    if kind == "modal" and "title" not in view:
        problems.append("missing required field: title [json-pointer:/view]")
    for key in ("title", "submit", "close"):
        if key in view:
            problems += _check_text(view[key], f"/view/{key}", MAX_VIEW_TITLE, plain_only=True)
    if len(str(view.get("private_metadata", ""))) > MAX_PRIVATE_METADATA:
        problems.append(_too_long(MAX_PRIVATE_METADATA, "/view/private_metadata"))
    for key in ("callback_id", "external_id"):
        if len(str(view.get(key, ""))) > MAX_ID:
            problems.append(_too_long(MAX_ID, f"/view/{key}"))
    problems += _check_blocks(view.get("blocks", []), "/view/blocks", MAX_VIEW_BLOCKS)
    return SlackRefusal("invalid_arguments", problems) if problems else None


def _too_long(limit: int, pointer: str) -> str:
    return f"must be less than {limit + 1} characters [json-pointer:{pointer}]"


def _check_blocks(blocks: Any, pointer: str, max_blocks: int) -> list[str]:
    if not isinstance(blocks, list):
        return [f"must be an array [json-pointer:{pointer}]"]
    if len(blocks) > max_blocks:
        return [f"no more than {max_blocks} items allowed [json-pointer:{pointer}]"]
    problems: list[str] = []
    seen_ids: set[str] = set()
    for index, block in enumerate(blocks):
        where = f"{pointer}/{index}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            problems.append(f"missing required field: type [json-pointer:{where}]")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if len(str(block_id)) > MAX_ID:
                problems.append(_too_long(MAX_ID, f"{where}/block_id"))
            if block_id in seen_ids:
                problems.append(f"duplicate block_id {block_id!r} [json-pointer:{where}/block_id]")
            seen_ids.add(str(block_id))
        problems += _check_block(block, where)
    return problems


def _check_block(block: dict[str, Any], where: str) -> list[str]:
    kind = block["type"]
    problems: list[str] = []
    if kind == "section":
        if "text" not in block and "fields" not in block:
            problems.append(f"must provide either text or fields [json-pointer:{where}]")
        if "text" in block:
            problems += _check_text(block["text"], f"{where}/text", MAX_SECTION_TEXT)
        fields = block.get("fields", [])
        if len(fields) > MAX_SECTION_FIELDS:
            problems.append(
                f"no more than {MAX_SECTION_FIELDS} items allowed [json-pointer:{where}/fields]"
            )
        for i, text in enumerate(fields):
            problems += _check_text(text, f"{where}/fields/{i}", MAX_FIELD_TEXT)
        if "accessory" in block:
            problems += _check_element(block["accessory"], f"{where}/accessory")
    elif kind == "header":
        problems += _check_text(
            block.get("text"), f"{where}/text", MAX_HEADER_TEXT, plain_only=True
        )
    elif kind == "context":
        elements = block.get("elements", [])
        if len(elements) > MAX_CONTEXT_ELEMENTS:
            problems.append(
                f"no more than {MAX_CONTEXT_ELEMENTS} items allowed [json-pointer:{where}/elements]"
            )
    elif kind == "actions":
        problems += _check_actions(block.get("elements", []), f"{where}/elements")
    elif kind == "input":
        problems += _check_text(
            block.get("label"), f"{where}/label", MAX_FIELD_TEXT, plain_only=True
        )
        problems += _check_element(block.get("element"), f"{where}/element")
    return problems


def _check_actions(elements: Any, where: str) -> list[str]:
    if not isinstance(elements, list) or not elements:
        return [f"must provide at least 1 item [json-pointer:{where}]"]
    if len(elements) > MAX_ACTIONS_ELEMENTS:
        return [f"no more than {MAX_ACTIONS_ELEMENTS} items allowed [json-pointer:{where}]"]
    problems: list[str] = []
    seen: set[str] = set()
    for i, element in enumerate(elements):
        problems += _check_element(element, f"{where}/{i}")
        action_id = element.get("action_id") if isinstance(element, dict) else None
        if action_id is not None:
            if action_id in seen:
                problems.append(f"duplicate action_id {action_id!r} [json-pointer:{where}/{i}]")
            seen.add(str(action_id))
    return problems


def _check_element(element: Any, where: str) -> list[str]:
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        return [f"missing required field: type [json-pointer:{where}]"]
    problems: list[str] = []
    if len(str(element.get("action_id", ""))) > MAX_ID:
        problems.append(_too_long(MAX_ID, f"{where}/action_id"))
    kind = element["type"]
    if kind == "button":
        problems += _check_text(
            element.get("text"), f"{where}/text", MAX_BUTTON_TEXT, plain_only=True
        )
        if len(str(element.get("value", ""))) > MAX_BUTTON_VALUE:
            problems.append(_too_long(MAX_BUTTON_VALUE, f"{where}/value"))
        if len(str(element.get("url", ""))) > MAX_URL:
            problems.append(_too_long(MAX_URL, f"{where}/url"))
        if element.get("style") not in (None, "primary", "danger"):
            problems.append(f"must be one of primary, danger [json-pointer:{where}/style]")
    elif kind in ("static_select", "overflow", "radio_buttons", "checkboxes"):
        limit = MAX_OVERFLOW_OPTIONS if kind == "overflow" else MAX_OPTIONS
        problems += _check_options(element.get("options"), f"{where}/options", limit)
    elif kind == "plain_text_input":
        max_length = element.get("max_length", MAX_INPUT_LENGTH)
        if isinstance(max_length, int) and max_length > MAX_INPUT_LENGTH:
            problems.append(f"must be at most {MAX_INPUT_LENGTH} [json-pointer:{where}/max_length]")
        initial = element.get("initial_value")
        if isinstance(initial, str) and isinstance(max_length, int) and len(initial) > max_length:
            problems.append(_too_long(max_length, f"{where}/initial_value"))
    return problems


def _check_options(options: Any, where: str, limit: int) -> list[str]:
    if not isinstance(options, list) or not options:
        return [f"must provide at least 1 item [json-pointer:{where}]"]
    if len(options) > limit:
        return [f"no more than {limit} items allowed [json-pointer:{where}]"]
    problems: list[str] = []
    for i, option in enumerate(options):
        if not isinstance(option, dict):
            problems.append(f"must be an object [json-pointer:{where}/{i}]")
            continue
        problems += _check_text(option.get("text"), f"{where}/{i}/text", MAX_OPTION_TEXT)
        if len(str(option.get("value", ""))) > MAX_OPTION_VALUE:
            problems.append(_too_long(MAX_OPTION_VALUE, f"{where}/{i}/value"))
    return problems


def _check_text(obj: Any, where: str, limit: int, *, plain_only: bool = False) -> list[str]:
    """A text object: ``{"type": "plain_text"|"mrkdwn", "text": "1..limit chars"}``."""
    if not isinstance(obj, dict):
        return [f"must be a text object [json-pointer:{where}]"]
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if obj.get("type") not in allowed:
        return [f"must be one of {', '.join(allowed)} [json-pointer:{where}/type]"]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [f"must be more than 0 characters [json-pointer:{where}/text]"]
    if len(text) > limit:
        return [_too_long(limit, f"{where}/text")]
    return []

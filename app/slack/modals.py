"""The modals a card opens: edit the reply, discard with a reason, guidance, override."""

from __future__ import annotations

import json
from typing import Any

from app.domain.offers import OfferCatalog
from app.slack.blocks import Blocks, current_offer_options, option, section
from app.slack.text import split_text
from app.store import Draft

EDIT_VIEW = "edit_view"
DISCARD_VIEW = "discard_view"
GUIDANCE_VIEW = "guidance_view"
OVERRIDE_VIEW = "override_view"


def _frame(
    callback_id: str, draft_id: int, title: str, submit: str, body: Blocks
) -> dict[str, Any]:
    """A modal about one draft: the draft id rides in private_metadata to the submission."""
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": json.dumps({"draft_id": draft_id}),
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": submit},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": body,
    }


def edit_modal(draft: Draft, catalog: OfferCatalog) -> dict[str, Any]:
    inputs: Blocks = []
    for number, chunk in enumerate(split_text(draft.text, 3000)[:20]):
        inputs.append(
            {
                "type": "input",
                "block_id": f"reply_{number}",
                "label": {"type": "plain_text", "text": "Reply" if number == 0 else "…continued"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "text",
                    "multiline": True,
                    "max_length": 3000,
                    "initial_value": chunk,
                },
            }
        )
    offer_input: dict[str, Any] = {
        "type": "multi_static_select",
        "action_id": "offers",
        "placeholder": {"type": "plain_text", "text": "Offers"},
        "options": [option(o.label, o.id) for o in catalog.offers][:100],
    }
    current = current_offer_options(draft, catalog)
    if current:
        offer_input["initial_options"] = current
    inputs.append(
        {
            "type": "input",
            "block_id": "offers",
            "optional": True,
            "label": {"type": "plain_text", "text": "Offers"},
            "element": offer_input,
        }
    )
    return _frame(EDIT_VIEW, draft.id, "Edit the reply", "Save", inputs)


DISCARD_REASONS = {
    "not_a_complaint": "Not a complaint",
    "already_handled": "Already handled",
    "wrong_tone": "Wrong tone or content",
    "will_write_myself": "I'll write it myself",
    "other": "Other",
}


def discard_modal(draft_id: int) -> dict[str, Any]:
    return _frame(
        DISCARD_VIEW,
        draft_id,
        "Discard the draft",
        "Discard",
        [
            {
                "type": "input",
                "block_id": "reason",
                "label": {"type": "plain_text", "text": "Why?"},
                "element": {
                    "type": "radio_buttons",
                    "action_id": "choice",
                    "options": [option(label, key) for key, label in DISCARD_REASONS.items()],
                },
            },
            {
                "type": "input",
                "block_id": "note",
                "optional": True,
                "label": {"type": "plain_text", "text": "Note"},
                "element": {"type": "plain_text_input", "action_id": "text", "max_length": 500},
            },
        ],
    )


def override_modal(draft_id: int) -> dict[str, Any]:
    return _frame(
        OVERRIDE_VIEW,
        draft_id,
        "Override the checks",
        "Override",
        [
            section(
                "A :no_entry: check stopped this draft. Override only if the text is right as "
                "it stands; your name and reason are kept with the draft."
            ),
            {
                "type": "input",
                "block_id": "reason",
                "label": {"type": "plain_text", "text": "Why is it right?"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "text",
                    "multiline": True,
                    "min_length": 5,
                    "max_length": 500,
                },
            },
        ],
    )


def guidance_modal(draft_id: int) -> dict[str, Any]:
    return _frame(
        GUIDANCE_VIEW,
        draft_id,
        "Regenerate",
        "Regenerate",
        [
            {
                "type": "input",
                "block_id": "guidance",
                "label": {"type": "plain_text", "text": "What should change?"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "text",
                    "multiline": True,
                    "max_length": 1000,
                    "placeholder": {
                        "type": "plain_text",
                        "text": "e.g. offer express shipping, keep it short",
                    },
                },
            }
        ],
    )

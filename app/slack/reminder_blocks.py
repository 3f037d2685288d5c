"""The commitment reminder an agent gets in a DM: what was promised, a link, one button."""

from __future__ import annotations

from typing import Any

from app.slack.blocks import section
from app.slack.text import safe

DRAFT_FOLLOW_UP = "draft_follow_up"


def reminder_blocks(text: str, *, link: str | None, commitment_id: int) -> list[dict[str, Any]]:
    # The promise quotes a sent reply: escaped like any reply text.
    body = safe(text) + (f"\n<{link}|Open the thread>" if link else "")
    return [
        section(body),
        {
            "type": "actions",
            "elements": [{
                "type": "button",
                "text": {"type": "plain_text", "text": "Draft the follow-up", "emoji": True},
                "action_id": DRAFT_FOLLOW_UP,
                "value": str(commitment_id),
                "style": "primary",
            }],
        },
    ]

"""Block Kit for relayed customers: the card's origin line and the copy-ready reply.

A relayed customer wrote by e-mail, chat or phone; an agent pasted it into a
relay channel.  The card names the customer from the paste (never the agent
who pasted it) and says how the message came in.  Approve answers with the
reply as ``plain_text`` sections: Slack shows them literally, with no quote
marks or code fences to strip when the agent copies the text into an e-mail,
split to fit Block Kit's 3,000 characters a section.
"""

from __future__ import annotations

from typing import Any

from app.slack.text import clip, safe, split_text
from app.store import Complaint

MARK_SENT = "mark_relayed_sent"
_FORMS = {"email": "e-mail", "chat": "chat", "phone": "phone call"}
# Blocks of the copy-ready message besides the text: intro, hint, button.
_FRAME_BLOCKS = 3
MAX_TEXT_BLOCKS = 50 - _FRAME_BLOCKS

Blocks = list[dict[str, Any]]


def relayed_origin(complaint: Complaint) -> str:
    """The card's first line for a relayed customer: who they are, how it came, who pasted it."""
    form = _FORMS.get(complaint.relayed_form, "message")
    who = f"*{safe(complaint.user_name)}*" if complaint.user_name else "the customer (no name found)"
    link = f" · <{complaint.permalink}|view the paste>" if complaint.permalink else ""
    relayer = f" by <@{complaint.user_id}>" if complaint.user_id else ""
    return f"*Customer* {who} · Relayed {form} in <#{complaint.channel_id}>{relayer}{link}"


def copy_ready(text: str, *, intro: str, mark_sent: str | None = None) -> tuple[str, Blocks]:
    """The reply as copy-ready plain text, with "Mark as sent" when a stored draft stands behind it."""
    blocks: Blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": clip(intro, 3000)}}]
    # Plain text is shown as written: no mrkdwn to undo, nothing for Slack to reformat.
    for chunk in split_text(text)[:MAX_TEXT_BLOCKS]:
        blocks.append({
            "type": "section",
            "text": {"type": "plain_text", "text": chunk or " ", "emoji": False},
        })
    if mark_sent:
        blocks.append({
            "type": "actions",
            "elements": [{
                "type": "button",
                "text": {"type": "plain_text", "text": "Mark as sent", "emoji": True},
                "action_id": MARK_SENT,
                "value": mark_sent,
                "style": "primary",
            }],
        })
    return clip(f"{intro}\n\n{text}", 3000), blocks

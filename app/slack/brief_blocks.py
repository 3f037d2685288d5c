"""Block Kit for escalation briefs: one or more messages, each within Slack's limits.

A brief of a long thread can hold hundreds of lines.  Its sections are cut
into blocks of at most ``CHUNK`` characters (Slack allows 3,000 per
section) and the blocks into messages of at most ``MAX_BLOCKS``; the header
opens the first message, the footer and the buttons close the last.  Every
item links the messages it rests on.  Pure functions: no Slack calls here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from app.domain.models import BriefItem, OpenPromise
from app.slack.text import CHUNK, clip, safe, split_text
from app.usecases.brief import BriefView

SHARE_IN_THREAD = "brief_share_thread"
SEND_TO_REVIEW = "brief_send_review"
REFRESH = "brief_refresh"
MAX_BLOCKS = 50

Blocks = list[dict[str, Any]]


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, 3000)}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, 3000)}]}


def _when(ts: str) -> str:
    try:
        return f"{datetime.fromtimestamp(float(ts), tz=UTC):%b %d %H:%M}"
    except (ValueError, OverflowError, OSError):
        return "message"


def _cited(refs: Iterable[str], links: dict[str, str]) -> str:
    shown = [f"<{links[r]}|{_when(r)}>" if r in links else _when(r) for r in refs]
    return f" ({', '.join(shown)})" if shown else ""


def _item(item: BriefItem, links: dict[str, str]) -> str:
    return f"• {safe(item.text)}{_cited(item.refs, links)}"


def _promise(promise: OpenPromise, links: dict[str, str]) -> str:
    if promise.due_at is None:
        due = "no date given"
    else:
        due = f"due {promise.due_at:%Y-%m-%d %H:%M} UTC"
        if promise.passed:
            due += " :warning: *passed*"
    line = f"• *{safe(promise.who)}*: {safe(promise.what)} ({due})"
    return line + _cited(promise.refs, links)


def _titled(title: str, lines: list[str]) -> Blocks:
    """A section per ``CHUNK`` characters; the title opens the first."""
    text = f"*{title}*\n" + ("\n".join(lines) if lines else "none")
    return [_section(piece) for piece in split_text(text, CHUNK)]


def _footer(view: BriefView, *, private: bool) -> str:
    brief = view.brief
    parts = f" read in {brief.parts} parts" if brief.parts > 1 else ""
    notes = [f"From {brief.message_count:,} messages{parts}", f"prompt {safe(brief.prompt_version)}"]
    if brief.dropped:
        notes.append(
            f"{brief.dropped} item{'s' if brief.dropped != 1 else ''} left out: "
            "they cited messages that are not in the thread"
        )
    if view.cached:
        notes.append("the thread has not changed since this brief was made")
    if view.shared_by:
        notes.append(f"shared by <@{view.shared_by}>")
    if private:
        notes.append("only you can see this")
    return " · ".join(notes)


def _actions(brief_id: int) -> dict[str, Any]:
    def button(text: str, action_id: str) -> dict[str, Any]:
        return {
            "type": "button",
            "text": {"type": "plain_text", "text": text},
            "action_id": action_id,
            "value": str(brief_id),
        }

    return {
        "type": "actions",
        "block_id": "brief_actions",
        "elements": [
            button("Share in thread", SHARE_IN_THREAD),
            button("Send to review channel", SEND_TO_REVIEW),
            button("Refresh", REFRESH),
        ],
    }


def brief_messages(view: BriefView, *, private: bool) -> list[tuple[str, Blocks]]:
    """The brief as ``(fallback text, blocks)`` messages, each within Block Kit's limits."""
    brief, links = view.brief, view.links
    thread_link = links.get(view.thread_ts)
    body: Blocks = [
        *_titled("Issue", [safe(brief.issue)]),
        *_titled("Timeline", [_item(i, links) for i in brief.timeline]),
        *_titled("Offered", [_item(i, links) for i in brief.offered]),
        *_titled("Declined", [_item(i, links) for i in brief.declined]),
        *_titled("Promises still open", [_promise(p, links) for p in brief.open_promises]),
        *_titled("Customer mood", [safe(brief.customer_mood)]),
        *_titled("Next step", [safe(brief.next_step)]),
    ]
    closing: Blocks = [_context(_footer(view, private=private))]
    if private and view.brief_id is not None:
        closing.append(_actions(view.brief_id))
    header: dict[str, Any] = {
        "type": "header",
        "text": {"type": "plain_text", "text": "Escalation brief"},
    }
    opening: Blocks = [header]
    if thread_link:
        opening.append(_context(f"<{thread_link}|Open the thread>"))
    pages: list[Blocks] = [list(opening)]
    for block in body:
        if len(pages[-1]) >= MAX_BLOCKS:
            pages.append([])
        pages[-1].append(block)
    if len(pages[-1]) + len(closing) > MAX_BLOCKS:
        pages.append([])
    pages[-1].extend(closing)
    fallback = "Escalation brief: " + clip(safe(brief.issue), 200)
    total = len(pages)
    return [
        (fallback if n == 1 else f"Escalation brief, continued ({n} of {total})", page)
        for n, page in enumerate(pages, start=1)
    ]

"""Intake in a relay channel: an agent's paste becomes the complaint of the customer it quotes.

In a relay channel every author is one of us.  A new top-level message that
carries a customer's words (a pasted e-mail, chat transcript or phone note,
``app.domain.relay``) is stored as that customer's complaint: the text is the
customer's words, ``user_name`` the sender's name from the paste (never the
agent's), the agent's own note becomes the draft's guidance and the quoted
chain its history.  Replies in the thread are the agents' conversation about
the case, not new complaints; a message with no customer words (a question to
colleagues) is chatter and gets no card.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from app.domain.channels import ChannelKind
from app.domain.limits import CappedText, cap_text, with_cut_note
from app.domain.models import ThreadMessage
from app.domain.redact import redact
from app.domain.relay import RelayedMessage, read_relayed
from app.store import ComplaintSource, NewComplaint

if TYPE_CHECKING:
    from app.usecases.intake import Message

RelayOutcome = Literal["ignored_relay_reply", "ignored_relay_outsider", "ignored_relay_chatter"]
# The longest customer name kept (the column holds 255).
_NAME_CHARS = 120


def relay_refusal(message: Message, *, home_team: str | None) -> RelayOutcome | None:
    """Why a message in a relay channel is no relayed complaint before reading it, if it is not."""
    if message.thread_ts and message.thread_ts != message.ts:
        return "ignored_relay_reply"
    # Relay channels are internal: a guest from another workspace relays nothing.
    if message.user_team and home_team and message.user_team != home_team:
        return "ignored_relay_outsider"
    return None


def relayed_complaint(
    message: Message,
    *,
    max_chars: int,
    source: ComplaintSource = "watch",
    asker: str | None = None,
    guidance: str | None = None,
) -> NewComplaint | None:
    """The customer's complaint in an agent's paste; None when it carries no customer words.

    The paste is capped before any pattern reads it.  Everything stored is
    redacted: the customer's words, the agent's note and the quoted history.
    """
    capped = cap_text(message.text.strip(), max_chars)
    relayed = read_relayed(capped.text)
    if relayed is None or not relayed.customer_text.strip():
        return None
    words = with_cut_note(
        CappedText(relayed.customer_text, len(relayed.customer_text) + capped.cut_chars)
    )
    notes = [part for part in (relayed.note, guidance) if part and part.strip()]
    return NewComplaint(
        team_id=message.team_id,
        channel_id=message.channel,
        message_ts=message.ts,
        thread_ts=message.root,
        # The agent who pasted it: they asked for the reply, they are not the customer.
        user_id=message.user,
        user_name=relayed.customer_name[:_NAME_CHARS],
        text=redact(words).text,
        source=source,
        requested_by=asker,
        guidance=redact("\n\n".join(notes)).text if notes else None,
        channel_kind=ChannelKind.RELAY.value,
        relayed=stored_paste(relayed),
    )


def stored_paste(relayed: RelayedMessage) -> dict[str, Any]:
    """What the complaint row keeps of a paste besides its text: form and quoted history."""
    return {
        "form": relayed.form,
        "history": [
            m.model_copy(update={"text": redact(m.text).text}).model_dump(mode="json")
            for m in relayed.history
        ],
    }


def pasted_history(stored: dict[str, Any] | None) -> list[ThreadMessage]:
    """The quoted history a relayed complaint keeps, oldest first, each marked relayed."""
    entries = (stored or {}).get("history") or []
    return [
        ThreadMessage.model_validate({**entry, "relayed": True})
        for entry in entries
        if isinstance(entry, dict)
    ]


RELAY_BRIEF_CONTEXT = (
    "An internal relay channel: agents paste a customer's e-mails, chats and phone notes into "
    "it. Messages marked author=\"customer\" are the customer's own words from the paste; the "
    "agents' replies are their talk about the case. Summarize the customer's case, not the "
    "agents' chatter."
)


def relay_thread_for_brief(
    thread: list[ThreadMessage], *, root_ts: str
) -> list[ThreadMessage]:
    """A relay thread as a brief should read it: the paste as the customer's case, then the replies.

    The root message (an agent's paste) becomes the quoted history and the
    customer's newest words, each cited by the paste's ts; the agent's note
    and the replies stay the agents'.  A root with no customer words is left as it is.
    """
    out: list[ThreadMessage] = []
    for message in thread:
        relayed = read_relayed(message.text) if message.ts == root_ts else None
        if relayed is None:
            out.append(message)
            continue
        if relayed.note:
            out.append(message.model_copy(update={"text": relayed.note, "author": "agent"}))
        out.extend(m.model_copy(update={"ts": message.ts}) for m in relayed.history)
        out.append(ThreadMessage(
            author="customer", text=relayed.customer_text, ts=message.ts,
            name=relayed.customer_name or None, relayed=True,
        ))
    return out

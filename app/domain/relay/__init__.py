"""What an agent pasted into a relay channel: their note, the customer, the customer's words.

``read_relayed`` splits a pasted e-mail (``relay.mail``), chat transcript or
phone note (``relay.transcript``) into:

* ``note``: the agent's own words above the paste, guidance for the reply;
* ``customer_name``: the sender's name from the e-mail (or the chat, or the
  call), never the relaying agent's;
* ``customer_text``: the customer's newest words, signature and disclaimer off;
* ``history``: the older messages the paste quotes, oldest first, each
  labelled with who wrote it as far as the paste tells.

Every history entry is marked ``relayed``: the customer could have typed any
of it (a quoted "reply from support" is only what their e-mail shows), so it
never backs an amount, a date or a promise in the reply checks.

A paste with no customer words (an agent's question to colleagues, a note
alone) gives ``None``: it gets no card.  The caller caps the text first; every
pattern here is RE2 and reads each line a bounded number of times.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from app.domain.models import ThreadMessage
from app.domain.relay.lines import Sender, from_chat_markup
from app.domain.relay.mail import MailPart, read_mail
from app.domain.relay.transcript import read_chat, read_phone_note

__all__ = ["PasteForm", "RelayedMessage", "read_relayed"]

PasteForm = Literal["email", "chat", "phone"]


@dataclass(frozen=True)
class RelayedMessage:
    form: PasteForm
    customer_text: str
    customer_name: str = ""
    note: str = ""
    history: list[ThreadMessage] = field(default_factory=list)


def read_relayed(text: str) -> RelayedMessage | None:
    """The customer's case in an agent's paste, or None when it carries no customer words."""
    text = from_chat_markup(text).replace("\r\n", "\n")
    return _from_mail(text) or _from_chat(text) or _from_phone(text)


def _from_mail(text: str) -> RelayedMessage | None:
    mail = read_mail(text)
    if mail is None:
        return None
    newest, older = mail.parts[0], mail.parts[1:]
    customer = newest.sender
    name = (customer.name if customer else "") or newest.signed_by
    history = [_history_entry(part, customer, name) for part in reversed(older)]
    return RelayedMessage(
        form="email", customer_text=newest.text, customer_name=name, note=mail.note,
        history=history,
    )


def _history_entry(part: MailPart, customer: Sender | None, name: str) -> ThreadMessage:
    sender = part.sender
    if sender is not None and (sender.same_as(customer) or (name and sender.name == name)):
        author: Literal["customer", "agent"] = "customer"
    elif sender is None and part.signed_by and part.signed_by == name:
        author = "customer"
    elif sender is None and not part.signed_by:
        # Quoted text with no sender: most often the customer's own earlier words.
        author = "customer"
    else:
        author = "agent"
    shown = (sender.name if sender else "") or part.signed_by or None
    return ThreadMessage(author=author, text=part.text, name=shown, relayed=True)


def _from_chat(text: str) -> RelayedMessage | None:
    chat = read_chat(text)
    if chat is None:
        return None
    turns = [t for t in chat.turns if t.text]
    # The customer's last run of turns is what the reply answers; the rest is history.
    end = max((i for i, t in enumerate(turns) if t.side == "customer"), default=-1)
    if end < 0:
        return None
    start = end
    while start > 0 and turns[start - 1].side == "customer":
        start -= 1
    newest = "\n".join(t.text for t in turns[start : end + 1])
    history = [
        ThreadMessage(
            author="customer" if t.side == "customer" else "agent", text=t.text, name=t.speaker,
            relayed=True,
        )
        for t in turns[:start] + turns[end + 1 :]
    ]
    return RelayedMessage(
        form="chat", customer_text=newest, customer_name=chat.customer_name, note=chat.note,
        history=history,
    )


def _from_phone(text: str) -> RelayedMessage | None:
    call = read_phone_note(text)
    if call is None:
        return None
    return RelayedMessage(
        form="phone", customer_text=call.text, customer_name=call.customer_name, note=call.note
    )

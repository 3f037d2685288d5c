"""Pasted chat transcripts and phone notes: who said what, and what the customer said last.

A transcript is two or more lines led by a speaker: "[10:02] Anna: …",
"10:02 - Anna: …", or a role label ("Customer: …", "Agent: …", "Kunde: …").
Lines without a speaker continue the message above.  The customer is the
speaker a label names so, or else the first speaker who is not labelled as
us.  A phone note is one line "Phone call with Anna Berg: …" (or "Anruf von
…:") followed by the agent's account of the call.  Lines above either are the
agent's own note.  One pass over the lines, each classified in linear time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from app.domain.relay.lines import CHAT_LABELLED, CHAT_TIMED, LINE_WINDOW, PHONE_NOTE, speaker_side

Side = Literal["customer", "agent"]
# At least this many speaker lines make a transcript (one alone is prose with a colon).
MIN_TURNS = 2
_SPEAKER_REACH = 100
_CALL_WORDS = ("phone", "call", "telefon", "anruf")


@dataclass
class Turn:
    speaker: str
    side: Side | None
    lines: list[str]

    @property
    def text(self) -> str:
        return "\n".join(self.lines).strip()


@dataclass(frozen=True)
class PastedChat:
    note: str
    customer_name: str
    # In order; every turn's side is settled.
    turns: list[Turn]


@dataclass(frozen=True)
class PhoneNote:
    note: str
    customer_name: str
    text: str


def _speaker_line(line: str) -> tuple[str, str, Side | None] | None:
    head = line[:LINE_WINDOW]
    # A speaker's colon comes early (a time and a name at most): skip the pattern otherwise.
    if ":" not in head[:_SPEAKER_REACH]:
        return None
    if found := CHAT_LABELLED.match(head):
        label = found.group(1)
        return label, line[found.start(2) :], speaker_side(label)
    if found := CHAT_TIMED.match(head):
        label = found.group(1).strip()
        return label, line[found.start(2) :], speaker_side(label)
    return None


def read_chat(text: str) -> PastedChat | None:
    """The transcript in a pasted text, or None when it has fewer than two speaker lines."""
    raw = text.split("\n")
    turns: list[Turn] = []
    note: list[str] = []
    for line in raw:
        speaker = _speaker_line(line)
        if speaker is not None:
            label, said, side = speaker
            turns.append(Turn(label, side, [said]))
        elif turns:
            turns[-1].lines.append(line)
        else:
            note.append(line)
    if len(turns) < MIN_TURNS:
        return None
    customer = next((t.speaker for t in turns if t.side == "customer"), None)
    if customer is None:
        customer = next((t.speaker for t in turns if t.side is None), None)
    if customer is None:
        return None
    for turn in turns:
        if turn.side is None:
            turn.side = "customer" if turn.speaker.casefold() == customer.casefold() else "agent"
    # A role label is no name: "Customer" would make a poor greeting.
    name = "" if speaker_side(customer) else customer
    return PastedChat(note="\n".join(note).strip(), customer_name=name, turns=turns)


def read_phone_note(text: str) -> PhoneNote | None:
    """A phone note ("Phone call with Anna Berg: …"), or None."""
    raw = text.split("\n")
    for index, line in enumerate(raw):
        if not line.lstrip()[:8].lower().startswith(_CALL_WORDS):
            continue
        found = PHONE_NOTE.match(line[:LINE_WINDOW])
        if found is None:
            continue
        name = found.group(1).strip()
        # "Phone call with Anna Berg (order 4471)": the brackets are no part of the name.
        name = name.split("(", 1)[0].strip(" ,-")
        said = "\n".join([line[found.start(2) :], *raw[index + 1 :]]).strip()
        if not said:
            return None
        return PhoneNote(
            note="\n".join(raw[:index]).strip(), customer_name=name[:80], text=said
        )
    return None

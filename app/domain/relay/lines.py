"""What one line of a pasted e-mail, chat or phone note is, read in linear time.

Each line is classified from at most ``LINE_WINDOW`` characters, with
patterns anchored at the line's start and bounded quantifiers only, so the
work per line has a fixed ceiling and a paste costs time in proportion to its
length, whatever its shape.  Python's ``re`` rather than RE2, as in
``app.domain.pii``: the RE2 binding costs about 40 µs a call, which on a paste
of 5,000 one-word lines is a second; cheap string tests run before any
pattern.  Slack delivers pasted text escaped (``&gt;``, ``<mailto:a@b|a@b>``):
``from_chat_markup`` turns it back into what the agent pasted first.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Literal

# A header, a sign-off or a speaker label sits at the start of a line: longer
# lines are read only that far.
LINE_WINDOW = 300


def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


# Slack's links: <mailto:a@b.c|a@b.c>, <https://x|label>, <https://x>.
_SLACK_LINK = _compile(r"<(?:mailto:|tel:|https?://)([^<>|]{0,500})(?:\|([^<>]{0,500}))?>")
SEPARATOR = _compile(
    r"^\s*(?:-{2,}|_{2,})?\s*(?:original message|forwarded message|ursprüngliche nachricht"
    r"|weitergeleitete nachricht|message d'origine|message transféré|mensaje original"
    r"|mensaje reenviado)\s*(?:-{2,}|_{2,})?\s*$"
    r"|^\s*(?:begin forwarded message|anfang der weitergeleiteten nachricht)\s*:\s*$"
)
HEADER = _compile(
    r"^\s*\*?(from|von|de|sent|gesendet|envoyé|enviado|date|datum|to|an|à|para|cc|bcc"
    r"|subject|betreff|objet|asunto|reply-to)\*?\s*:\s*(.{0,280})$"
)
SENDER_HEADERS = frozenset({"from", "von", "de"})
ATTRIBUTION_EN = _compile(r"^\s*on\s(.{1,250}?)\s*wrote\s*:?\s*$")
ATTRIBUTION_DE = _compile(r"^\s*am\s.{1,150}?\sschrieb\s(.{1,150}?)\s*:?\s*$")
ATTRIBUTION_FR = _compile(r"^\s*le\s(.{1,250}?)\s*a écrit\s*:?\s*$")
QUOTED = _compile(r"^\s*>")
SIGN_OFF = _compile(
    r"^\s*(?:thanks|thank you|thanks again|many thanks|thx|best|best wishes|best regards"
    r"|kind regards|warm regards|regards|cheers|sincerely|yours sincerely|yours truly"
    r"|all the best|mit freundlichen grüßen|freundliche grüße|viele grüße|beste grüße"
    r"|liebe grüße|herzliche grüße|grüße|gruß|lg|mfg|danke|vielen dank|cordialement"
    r"|bien à vous|saludos|un saludo|atentamente)\s*[,.!]*\s*$"
)
SIGNATURE_RULE = _compile(r"^\s*(?:--|__+|—)\s*$")
DISCLAIMER = _compile(
    r"confidential|vertraulich|intended recipient|intended solely|privileged"
    r"|this e-?mail and any attachments|diese e-?mail|please consider the environment"
    r"|sent from my (?:iphone|ipad|android|phone)|von meinem iphone gesendet"
)
CHAT_TIMED = _compile(
    r"^\s*\[?\(?\d{1,2}[:.]\d{2}(?::\d{2})?\s*(?:am|pm)?\)?\]?\s*-?\s*"
    r"([^:\[\]]{1,60}?)\s*:\s(.*)$"
)
CHAT_LABELLED = _compile(
    r"^\s*(customer|client|visitor|guest|kunde|kundin|agent|support|me|us|bot|mitarbeiter"
    r"|mitarbeiterin)\s*:\s(.*)$"
)
PHONE_NOTE = _compile(
    r"^\s*(?:phone call|call|phone note|phone|telefonat|anruf|telefonnotiz)"
    r"\s+(?:with|from|von|mit)\s+([^:]{1,80}?)\s*:\s*(.*)$"
)
_OUR_SPEAKERS = frozenset({"agent", "support", "me", "us", "bot", "mitarbeiter", "mitarbeiterin"})
_THEIR_SPEAKERS = frozenset({"customer", "client", "visitor", "guest", "kunde", "kundin"})
_ADDRESS = _compile(r"<\s*([^<>\s]{1,254}@[^<>\s]{1,254})\s*>|([^\s<>()\[\],;]{1,64}@[^\s<>()\[\],;]{1,254})")

_SEPARATOR_WORDS = ("message", "nachricht", "mensaje")
_LONGEST_SIGN_OFF = 32

LineKind = Literal[
    "separator", "header", "attribution", "quoted", "sign_off", "rule", "blank", "text"
]


@dataclass(frozen=True)
class Line:
    kind: LineKind
    text: str
    # header: the lower-cased field name; attribution: who wrote the quoted part.
    field: str = ""
    value: str = ""


def from_chat_markup(text: str) -> str:
    """Pasted text as the agent pasted it: Slack's link markup and HTML escapes undone."""
    text = _SLACK_LINK.sub(lambda m: m.group(2) or m.group(1), text) if "<" in text else text
    return html.unescape(text) if "&" in text else text


def classify(raw: str) -> Line:
    """The kind of one line of a pasted e-mail (only its first ``LINE_WINDOW`` characters read).

    Cheap string tests come first, so most lines never reach a pattern: the
    RE2 binding costs more per call than the match itself on a short line.
    """
    head = raw[:LINE_WINDOW]
    stripped = head.strip()
    if not stripped:
        return Line("blank", raw)
    if stripped[0] == ">":
        return Line("quoted", raw)
    low = stripped.lower()
    if any(word in low for word in _SEPARATOR_WORDS) and SEPARATOR.match(head):
        return Line("separator", raw)
    if ":" in stripped[:16] and (found := HEADER.match(head)):
        return Line("header", raw, field=found.group(1).lower(), value=found.group(2).strip())
    if low.startswith(("on ", "am ", "le ")):
        for pattern in (ATTRIBUTION_EN, ATTRIBUTION_DE, ATTRIBUTION_FR):
            if found := pattern.match(head):
                return Line("attribution", raw, value=found.group(1).strip())
    if len(stripped) <= 3 and SIGNATURE_RULE.match(head) or set(stripped) == {"_"}:
        return Line("rule", raw)
    if len(stripped) <= _LONGEST_SIGN_OFF and SIGN_OFF.match(head):
        return Line("sign_off", raw)
    return Line("text", raw)


def is_disclaimer(line: str) -> bool:
    return bool(DISCLAIMER.search(line[:LINE_WINDOW]))


@dataclass(frozen=True)
class Sender:
    name: str
    address: str

    def same_as(self, other: Sender | None) -> bool:
        if other is None:
            return False
        if self.address and other.address:
            return self.address.lower() == other.address.lower()
        return bool(self.name) and self.name.casefold() == other.name.casefold()


def sender_of(value: str) -> Sender:
    """The display name and address in a From: header or an attribution's author part.

    ``email.utils.parseaddr`` reads the usual ``Name <a@b>`` forms; an
    attribution ("Fri, Nov 27, 2026 at 3:10 PM Brightwell Support <help@…>")
    also carries a date, so only the words after its last digit count as the name.
    """
    found = _ADDRESS.search(value[:LINE_WINDOW])
    address = (found.group(1) or found.group(2)) if found else ""
    before = value[: found.start()] if found else value
    name, parsed = parseaddr(value) if found and found.group(1) else ("", "")
    if "@" not in parsed:
        parsed = ""
    if not name:
        name = before
    name = name.strip().strip('"').strip()
    # Drop a leading date and time: keep what follows the last digit (and AM/PM, "Uhr").
    last_digit = max((i for i, ch in enumerate(name) if ch.isdigit()), default=-1)
    if last_digit >= 0:
        name = name[last_digit + 1 :]
        for word in ("am", "pm", "uhr", "h"):
            if name.lower().lstrip().startswith(word + " ") or name.lower().strip() == word:
                name = name.lstrip()[len(word) :]
                break
    name = name.strip(" ,:;\"'").strip()
    if "@" in name:
        name = ""
    return Sender(name=name[:80], address=(parsed or address)[:254])


def speaker_side(label: str) -> Literal["customer", "agent"] | None:
    """Who a chat label stands for when the label says so ("Customer:", "Agent:")."""
    word = label.strip().lower()
    if word in _THEIR_SPEAKERS:
        return "customer"
    if word in _OUR_SPEAKERS:
        return "agent"
    return None

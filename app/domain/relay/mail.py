"""A pasted e-mail: the agent's note, the sender, their words, the quoted chain below.

Forwarded and replied-to e-mails, as mail clients lay them out in plain text:

* a forward or "Original Message" line, then a header block (``From:``/``Von:``,
  ``Sent:``/``Gesendet:``, ``Subject:``/``Betreff:``…) read with the stdlib
  ``email`` parser;
* a header block alone (Outlook pastes often have no separator line);
* an attribution line ("On … wrote:", "Am … schrieb …:") above ``>``-quoted text.

Whatever stands above the first of these is the agent's own note.  The first
message below it is the customer's newest; the older ones it quotes become the
thread history, oldest first.  Each message loses its signature (from the
sign-off or ``--`` line down: name, title, phone, address) and its disclaimer.

Everything here is a single pass over the lines (and one more per level of
``>`` quoting, at most ``MAX_DEPTH``), each line classified in linear time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.parser import HeaderParser

from app.domain.relay.lines import Line, Sender, classify, is_disclaimer, sender_of

# Levels of ">" quoting unwrapped; deeper ones stay quoted text of the level above.
MAX_DEPTH = 4
# A sign-off this close to the end of a message starts its signature.
SIGN_OFF_WINDOW = 14
# Header lines that may follow a From: line in one header block.
_HEADER_SPAN = 8
# Messages of a chain read; older ones would be cut from the history anyway.
MAX_PARTS = 20


@dataclass
class MailPart:
    """One message of the pasted chain."""

    sender: Sender | None
    lines: list[str] = field(default_factory=list)
    # The name under the sign-off, when the message has no header naming its sender.
    signed_by: str = ""

    @property
    def text(self) -> str:
        return "\n".join(self.lines).strip()


@dataclass(frozen=True)
class PastedMail:
    note: str
    # Newest first, as the e-mail has them; the first is the customer's.
    parts: list[MailPart]


def read_mail(text: str) -> PastedMail | None:
    """The e-mail in a pasted text, or None when nothing in it looks like one."""
    raw = text.split("\n")
    lines = [classify(line) for line in raw]
    start = _first_boundary(lines)
    if start is None:
        return None
    note = "\n".join(raw[:start]).strip()
    parts = _parts(lines[start:], depth=0)
    if lines[start].kind == "attribution" and _signed(raw[:start]):
        # Above "On … wrote:" stands a signed message: the customer's reply, not a note.
        top = MailPart(sender=None, lines=raw[:start])
        _close(parts, top)
        parts.insert(0, parts.pop())
        note = ""
    parts = [part for part in parts if part.text]
    if not parts:
        return None
    return PastedMail(note=note, parts=parts)


def _signed(lines: list[str]) -> bool:
    """Does this text end like a letter (a sign-off among its last lines)?"""
    return any(classify(line).kind == "sign_off" for line in lines[-SIGN_OFF_WINDOW:])


def _first_boundary(lines: list[Line]) -> int | None:
    for index, line in enumerate(lines):
        if line.kind in ("separator", "attribution"):
            return index
        if line.kind == "header" and _starts_header_block(lines, index):
            return index
    return None


def _starts_header_block(lines: list[Line], index: int) -> bool:
    """A From:/Von: line with another header right below it (a lone "From:" is prose)."""
    if lines[index].field not in ("from", "von", "de"):
        return False
    following = lines[index + 1 : index + 3]
    return any(line.kind == "header" for line in following)


def _parts(lines: list[Line], *, depth: int) -> list[MailPart]:
    """Split lines (starting at a boundary) into messages, newest first."""
    parts: list[MailPart] = []
    current: MailPart | None = None
    quoted: list[str] = []
    index = 0
    while index < len(lines) and len(parts) < MAX_PARTS:
        line = lines[index]
        if line.kind == "separator" or (
            line.kind == "header" and _starts_header_block(lines, index)
        ):
            index, sender = _header_block(lines, index)
            _finish(parts, current, quoted, depth)
            quoted = []
            current = MailPart(sender=sender)
            continue
        if line.kind == "attribution":
            _finish(parts, current, quoted, depth)
            quoted = []
            current = MailPart(sender=sender_of(line.value))
        elif line.kind == "quoted":
            quoted.append(line.text.lstrip()[1:].removeprefix(" "))
        elif current is not None:
            current.lines.append(line.text)
        index += 1
    _finish(parts, current, quoted, depth)
    return parts


def _header_block(lines: list[Line], index: int) -> tuple[int, Sender | None]:
    """Read a separator and/or header block from ``index``; the index after it and the sender."""
    if lines[index].kind == "separator":
        index += 1
        while index < len(lines) and lines[index].kind == "blank":
            index += 1
    block: list[str] = []
    end = min(len(lines), index + _HEADER_SPAN)
    while index < end and lines[index].kind == "header":
        block.append(f"{lines[index].field}: {lines[index].value}")
        index += 1
    headers = HeaderParser().parsestr("\n".join(block) + "\n\n")
    author = headers.get("from") or headers.get("von") or headers.get("de")
    return index, sender_of(str(author)) if author else None


def _finish(
    parts: list[MailPart], current: MailPart | None, quoted: list[str], depth: int
) -> None:
    """Close the message being read: its signature off, its quoted text split into parts.

    Quoted text right under an attribution is that sender's message; quoted
    text below a message's own lines is an older message of its own.
    """
    inner: list[MailPart] = []
    if quoted and depth < MAX_DEPTH:
        nested = [classify(line) for line in quoted]
        start = _first_boundary(nested)
        if start is not None:
            inner = _parts(nested[start:], depth=depth + 1)
            quoted = quoted[:start]
    if quoted and any(line.strip() for line in quoted):
        if current is not None and not current.text:
            current.lines = quoted
        else:
            if current is not None:
                _close(parts, current)
            current = MailPart(sender=None, lines=quoted)
    if current is not None:
        _close(parts, current)
    parts.extend(inner)


def _close(parts: list[MailPart], part: MailPart) -> None:
    part.lines, part.signed_by = strip_signature(part.lines)
    parts.append(part)


def strip_signature(lines: list[str]) -> tuple[list[str], str]:
    """A message's lines without signature and disclaimer; and the name signed, if any.

    The signature starts at a ``--`` line, or at a sign-off ("Thanks,",
    "Mit freundlichen Grüßen") among the last lines of the message; a
    disclaimer cuts from its first line on.  The line under a sign-off is
    taken as the writer's name.
    """
    kept = list(lines)
    for index, line in enumerate(kept):
        if is_disclaimer(line):
            kept = kept[:index]
            break
    while kept and not kept[-1].strip():
        kept.pop()
    classes = [classify(line) for line in kept]
    for index, kind in enumerate(c.kind for c in classes):
        if kind == "rule":
            return kept[:index], _name_below(kept, index)
    window_start = max(0, len(classes) - SIGN_OFF_WINDOW)
    for index in range(window_start, len(classes)):
        if classes[index].kind == "sign_off":
            # The sign-off itself stays: it is the customer's own closing word.
            return kept[: index + 1], _name_below(kept, index)
    return kept, ""


def _name_below(lines: list[str], index: int) -> str:
    for line in lines[index + 1 : index + 3]:
        candidate = line.strip()
        if candidate:
            words = candidate.split()
            # A name is a few capitalised words, not a phone number or an address.
            if len(words) <= 4 and all(w[:1].isupper() and w.replace("-", "").replace(".", "").isalpha() for w in words):
                return candidate
            return ""
    return ""

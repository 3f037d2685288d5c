"""Personal data out of text before it leaves for the LLM, and out of every log line.

``redact`` replaces emails, payment card numbers, IBANs and phone numbers with
placeholders (``[email]``, ``[card]``, ``[iban]``, ``[phone]``) and counts what
it found.  Placeholders are final: nothing is ever put back into a draft.

Candidates are found by broad, precompiled patterns and then confirmed by a
check that understands the thing (Luhn for cards, mod-97 and the country's
length for IBANs, digit count and shape for phones), so order numbers, dates,
amounts and times survive.  It runs on every message and every log line, so
text without a digit or an ``@`` returns at once.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

__all__ = ["Redaction", "redact", "redact_mapping"]

T = TypeVar("T")


@dataclass(frozen=True)
class Redaction:
    text: str
    found: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.found)


_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,24}(?![\w-])"
)

# Country code -> full IBAN length (ISO 13616 registry); an unknown country or
# a wrong length is not an IBAN, which keeps the 1-in-97 checksum luck away.
_IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
    "BH": 22, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28,
    "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
    "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24,
    "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SC": 31,
    "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip

_IBAN = re.compile(
    r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]{4}){2,7}(?: ?[A-Za-z0-9]{1,3})?"
    r"(?![A-Za-z0-9])"
)

# 13-19 digits, single spaces or dashes between them; the Luhn check decides.
# After a "+" it is an international phone number, never a card.
_CARD = re.compile(r"(?<![\d.,+])\d(?:[ -]?\d){12,18}(?![\d])")

# A phone candidate: optional +/00 prefix, then digit groups joined by one
# separator, a group may sit in parentheses.  Possessive so the validator sees
# the whole run and a long amount cannot be cut down into a "phone".
_PHONE = re.compile(
    r"(?<![\w+#$€£¥@/.,-])(?<!\d:)"
    r"(?:\+|\b00)?(?:\(\d{1,5}\)|\d{1,5})(?:[ .\-/]?(?:\(\d{1,5}\)|\d{1,5}))*+"
)
_PHONE_GROUP = re.compile(r"\d+")
# A date alone ("03.11.26"), or a run that starts with a dated year
# ("2026-11-03 12"), is never a phone; "06.12.34.56.78" still is.
_DATE_ALONE = re.compile(r"^\d\d?[-/.]\d\d?[-/.]\d{2,4}$")
_DATE_START = re.compile(
    r"^(?:(?:19|20)\d\d[-/.]\d\d?[-/.]\d\d?|\d\d?[-/.]\d\d?[-/.](?:19|20)\d\d)(?!\d)"
)
_IP_SHAPE = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
_AFTER_NOT_PHONE = re.compile(
    r"^(?:\s?(?:[%€$£¥]|(?:USD|EUR|GBP|CHF|CAD|AUD|dollars?|euros?)\b)|[.,:]\d)", re.IGNORECASE
)
_PHONE_KEYWORD = re.compile(
    r"(?:phone|tel|tél|telephone|téléphone|telefon|telefono|teléfono|mobile|cell|handy|"
    r"portable|móvil|movil|whatsapp|fax|call me|rufen sie mich|appelez-moi|llámame)"
    r"\.?(?:\s*(?:number|no\.?|nr\.?|nummer|numéro|número|#))?"
    r"\s*(?:[:=]|is|at|on|au|unter|al)?\s*$",
    re.IGNORECASE,
)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _iban_ok(compact: str) -> bool:
    expected = _IBAN_LENGTHS.get(compact[:2])
    if expected is None or len(compact) != expected:
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def _replace_iban(match: re.Match[str], counts: Counter[str]) -> str:
    raw = match.group()
    expected = _IBAN_LENGTHS.get(raw[:2].upper())
    if expected is None:
        return raw
    # The pattern may run into the next word ("... 0130 00 OK"): cut the
    # candidate at the country's length and keep the tail as it was.
    taken = 0
    for end, char in enumerate(raw, start=1):
        if char != " ":
            taken += 1
        if taken == expected:
            if _iban_ok(raw[:end].replace(" ", "").upper()):
                counts["iban"] += 1
                return "[iban]" + raw[end:]
            break
    return raw


def _replace_card(match: re.Match[str], counts: Counter[str]) -> str:
    raw = match.group()
    # Try the whole run, then shorter prefixes ending on a separator, so a
    # card followed by an unrelated number is still caught.
    cuts = [len(raw)] + [i for i in range(len(raw) - 1, 0, -1) if raw[i] in " -"]
    for cut in cuts:
        digits = re.sub(r"\D", "", raw[:cut])
        if 13 <= len(digits) <= 19 and _luhn_ok(digits):
            counts["card"] += 1
            return "[card]" + raw[cut:]
    return raw


def _looks_like_phone(candidate: str, before: str, after: str) -> bool:
    digits = sum(len(g) for g in _PHONE_GROUP.findall(candidate))
    if not 8 <= digits <= 15:
        return False
    if _AFTER_NOT_PHONE.match(after) or _IP_SHAPE.match(candidate):
        return False
    international = candidate.startswith(("+", "00"))
    if not international and (_DATE_ALONE.match(candidate) or _DATE_START.match(candidate)):
        return False
    groups = _PHONE_GROUP.findall(candidate)
    if len(groups) == 1:
        # A bare run of digits is an order or account number unless someone
        # said it is a phone, or it carries an international prefix.
        return international or bool(_PHONE_KEYWORD.search(before))
    if international:
        return True
    # National forms: short groups only at the start ("1-800-..."), and runs of
    # pairs are French-style numbers, which start with 0 ("06 12 34 56 78"),
    # not a list like "12 14 16 18 20".
    if max(len(g) for g in groups) <= 2 and not candidate.startswith("0"):
        return False
    return all(len(g) >= 2 for g in groups[1:])


def _replace_phone(match: re.Match[str], counts: Counter[str]) -> str:
    candidate = match.group()
    text = match.string
    before = text[max(0, match.start() - 40) : match.start()]
    after = text[match.end() : match.end() + 8]
    if not _looks_like_phone(candidate, before, after):
        return candidate
    counts["phone"] += 1
    return "[phone]"


def redact(text: str) -> Redaction:
    """Replace emails, cards, IBANs and phones in ``text`` with placeholders."""
    has_digit = any(c.isdigit() for c in text)
    if not has_digit and "@" not in text:
        return Redaction(text)
    counts: Counter[str] = Counter()

    def count_email(_: re.Match[str]) -> str:
        counts["email"] += 1
        return "[email]"

    if "@" in text:
        text = _EMAIL.sub(count_email, text)
    if has_digit:
        text = _IBAN.sub(lambda m: _replace_iban(m, counts), text)
        text = _CARD.sub(lambda m: _replace_card(m, counts), text)
        text = _PHONE.sub(lambda m: _replace_phone(m, counts), text)
    return Redaction(text, dict(counts))


def redact_mapping(obj: T) -> T:
    """Redact every string inside dicts, lists and tuples; keys and other values stay.

    Used by the log processor, so it returns a new structure and leaves the
    caller's objects alone.
    """
    return cast(T, _walk(obj))


def _walk(obj: Any) -> Any:
    if isinstance(obj, str):
        return redact(obj).text
    if isinstance(obj, Mapping):
        return {key: _walk(value) for key, value in obj.items()}
    if isinstance(obj, list):
        return [_walk(item) for item in obj]
    if isinstance(obj, tuple):
        return tuple(_walk(item) for item in obj)
    return obj

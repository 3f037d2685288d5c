"""Payment data: card numbers with their expiry date and security code, and IBANs.

A card number is a run of 13 to 19 digits grouped the way cards are printed,
starting like a card network's number (2 to 6) and passing Luhn, so order
numbers and references survive.  Around a card, the expiry date and the
security code customers type next to it ("exp 04/27, CVV 123", or just
"04/27 123") go too; away from a card number, only when a keyword names them
("CVC: 123", "exp 04/27", or "date d'expiration 04/27" a little after the
word "carte": a voucher "valid until 12/05" keeps its date).  IBANs must have their country's
length and pass ``stdnum``'s checksum and format checks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from stdnum import iban as stdnum_iban

from app.domain.pii import Span

__all__ = ["card_details", "cards", "ibans"]

# 4-4-4-(1..7) with one separator used throughout (16-digit cards, and 13-19
# digits written solid), or 4-6-4/5 (Amex, Diners).  Bounded: linear.
_CARD = re.compile(
    r"(?=[0-9])(?<![0-9.,+])(?:[0-9]{4}(?P<sep>[ -]?)[0-9]{4}(?P=sep)[0-9]{4}(?P=sep)[0-9]{1,7}"
    r"|[0-9]{4}[ -]?[0-9]{6}[ -]?[0-9]{4,5})(?![0-9])"
)
_CARD_NETWORK_START = frozenset("23456")

_EXPIRY_VALUE = r"(?:0?[1-9]|1[0-2]) ?[/.-] ?(?:20)?[0-9]{2}"
_CVV_WORDS = (
    r"cvv2?|cvc2?|cid|csc|security\s+code|card\s+code|code\s+de\s+s[ée]curit[ée]|cryptogramme"
    r"(?:\s+visuel)?|kartenpr[üu]fnummer|pr[üu]fnummer|sicherheitscode|c[óo]digo\s+de\s+seguridad"
)
# Printed on cards, so a date after them is a card's expiry wherever it stands.
_CARD_EXPIRY_WORDS = r"exp(?:iry|\.)?(?:\s+date)?|valid\s+thru|good\s+thru"
# Also said of vouchers, invoices and food: a card's expiry only near a card.
_ANY_EXPIRY_WORDS = (
    r"expiration(?:\s+date)?|valid\s+(?:through|until)|date\s+d['’]expiration|ablaufdatum"
    r"|g[üu]ltig\s+bis|fecha\s+de\s+(?:caducidad|vencimiento)|caducidad|vencimiento"
)
_EXPIRY_WORDS = f"{_CARD_EXPIRY_WORDS}|{_ANY_EXPIRY_WORDS}"
_CARD_WORD = re.compile(
    r"(?i)\b(?:card|carte|karte|kreditkarte|tarjeta|carta|visa|mastercard|amex|cb)\b"
)
# What may stand between a card and its expiry or code: punctuation, the
# names of those fields, and small connecting words; anything else ends the card.
_CONNECTORS = (
    r"expires?|expiring|and|et|und|y|the|la|le|die|el|is|est|ist|es|lautet|date|code|on|le|fin"
)
_GAP = re.compile(
    rf"(?:[\s,;:/()|=#.-]|(?:{_CVV_WORDS}|{_EXPIRY_WORDS}|{_CONNECTORS})(?![^\W\d_]))*",
    re.IGNORECASE,
)
_TAIL = re.compile(
    rf"(?P<gap>[^0-9\n]{{0,40}}?)(?:(?P<expiry>{_EXPIRY_VALUE})(?![0-9]|[/.-][0-9])"
    r"|(?P<cvv>[0-9]{3,4})(?![0-9]|[/.,][0-9]))"
)
_HAS_CVV_WORD = re.compile(_CVV_WORDS, re.IGNORECASE)
_KEYED = re.compile(
    rf"\b(?:(?P<cvv_key>{_CVV_WORDS})|(?P<card_expiry_key>{_CARD_EXPIRY_WORDS})"
    rf"|(?P<any_expiry_key>{_ANY_EXPIRY_WORDS}))"
    r"[\s:=#.-]{0,4}(?:(?:is|est|ist|es|lautet|le|am|el)\s{1,2})?"
    rf"(?:(?P<expiry>{_EXPIRY_VALUE})(?![0-9]|[/.-][0-9])|(?P<cvv>[0-9]{{3,4}})(?![0-9]|[/.,][0-9]))",
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


def cards(text: str) -> Iterator[Span]:
    """Every payment card number (Luhn-valid, starting like a card network's)."""
    for match in _CARD.finditer(text):
        raw = match.group()
        digits = raw.replace(" ", "").replace("-", "")
        if raw[0] in _CARD_NETWORK_START and _luhn_ok(digits):
            yield Span(match.start(), match.end(), "card")


def _tail(text: str, position: int) -> Iterator[Span]:
    """The expiry date and security code written right after a card that ends at ``position``."""
    for _ in range(2):
        match = _TAIL.match(text, position)
        if match is None:
            return
        gap = match.group("gap")
        if not _GAP.fullmatch(gap):
            return  # other words came first: what follows is not about the card
        if match.group("expiry"):
            yield Span(match.start("expiry"), match.end("expiry"), "expiry")
        elif len(match.group("cvv")) == 3 or _HAS_CVV_WORD.search(gap):
            yield Span(match.start("cvv"), match.end("cvv"), "cvv")
        else:
            return
        position = match.end()


def card_details(text: str, card_ends: list[int]) -> Iterator[Span]:
    """Expiry dates and security codes: after a card ending in ``card_ends``, or named."""
    for end in card_ends:
        yield from _tail(text, end)
    for match in _KEYED.finditer(text):
        kind = "expiry" if match.group("expiry") else "cvv"
        if (kind == "cvv") != bool(match.group("cvv_key")):
            continue
        if match.group("any_expiry_key") and not _CARD_WORD.search(
            text, max(0, match.start() - 60), match.start()
        ):
            continue
        yield Span(match.start(kind), match.end(kind), kind)


# Country code -> full IBAN length (ISO 13616 registry): where to cut a
# candidate that runs into the next word ("... 0130 00 OK").
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
    r"(?<![A-Za-z0-9])[A-Za-z]{2}[0-9]{2}(?: ?[A-Za-z0-9]{4}){2,7}(?: ?[A-Za-z0-9]{1,3})?"
    r"(?![A-Za-z0-9])"
)


def ibans(text: str) -> Iterator[Span]:
    """Every IBAN, spaced or compact, with a valid checksum."""
    for match in _IBAN.finditer(text):
        raw = match.group()
        expected = _IBAN_LENGTHS.get(raw[:2].upper())
        if expected is None:
            continue
        taken = 0
        for end, char in enumerate(raw, start=1):
            if char != " ":
                taken += 1
            if taken == expected:
                if stdnum_iban.is_valid(raw[:end]):
                    yield Span(match.start(), match.start() + end, "iban")
                break

"""E-mail addresses and phone numbers, in the forms customers write them.

E-mails are found plain (``jane.doe@example.com``) and obfuscated
(``jane dot doe at example dot com``, ``jane[at]example[.]com``).  Phones are
found by one possessive pattern (digit groups, one separator between them),
filtered by what the text around says (a date, an amount, an IP address is
not a phone) and by its shape, and confirmed by ``phonenumbers`` where the
library knows more than the shape: a number written with ``+`` or ``00`` must
be possible for its country, and a bare run of digits nobody called a phone
("0612345678") must be a number in service in one of ``PHONE_REGIONS``.  ``phonenumbers.PhoneNumberMatcher`` itself is not used:
it costs 2.5 to 5 ms per region on a 2 KB message, where this costs tens of
microseconds, and it misses the national forms of every region but one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import phonenumbers
from phonenumbers import NumberParseException

from app.domain.pii import Span

__all__ = ["PHONE_REGIONS", "emails", "phones"]

# Where customers write national numbers from; "+"/"00" numbers need none.
PHONE_REGIONS: tuple[str, ...] = ("US", "GB", "FR", "DE", "ES", "IT", "NL", "BE", "CH", "AT")

# --- e-mails ----------------------------------------------------------------------------

# A local part can only start where a run of local-part characters starts (the
# lookbehind), and is read possessively, so each run is read once: linear time.
# The old pattern let "a%a%a%…" start at every letter: quadratic.
_EMAIL = re.compile(
    r"(?<![\w.%+-])[\w%+-][\w.%+-]{0,63}+@"
    r"(?:[^\W_][\w-]{0,62}+\.){1,8}[^\W\d_]{2,24}+(?![\w-])"
)

_OPEN, _CLOSE = r"[\[({<]", r"[\])}>]"
_AT_WORD = r"(?:at|arroba|chez)"
_DOT_WORD = r"(?:dot|point|punkt|punto)"
_AT = (
    rf"(?:\s{{0,2}}{_OPEN}\s{{0,2}}(?:{_AT_WORD}|@)\s{{0,2}}{_CLOSE}\s{{0,2}}"
    rf"|\s{{1,2}}{_AT_WORD}\s{{1,2}}|\s{{1,2}}@\s{{0,2}}|@\s{{1,2}}|@)"
)
_DOT = (
    rf"(?:\s{{0,2}}{_OPEN}\s{{0,2}}(?:{_DOT_WORD}|\.)\s{{0,2}}{_CLOSE}\s{{0,2}}"
    rf"|\s{{1,2}}{_DOT_WORD}\s{{1,2}}|\.)"
)
# An obfuscated address must end on a real top-level domain, or "I was at home
# dot com" style prose would turn into addresses.
_TLD = (
    r"(?:com|net|org|edu|gov|info|biz|io|co|me|app|dev|email|online|shop|eu|uk|us|ca|au|ie"
    r"|fr|de|es|it|nl|be|ch|at|pt|lu|dk|se|no|fi|pl|cz|mx|ar|br|cl|jp|in)"
)
_WORD = r"[\w%+-]{1,64}+"
_OBFUSCATED_EMAIL = re.compile(
    rf"(?<![\w.%+-])(?P<local>{_WORD}(?:(?:{_DOT}){_WORD}){{0,3}})(?P<at>{_AT})"
    rf"(?P<domain>[^\W_][\w-]{{0,62}}+(?:{_DOT}[^\W_][\w-]{{0,62}}+){{0,3}}?{_DOT}{_TLD})"
    r"(?![\w-])",
    re.IGNORECASE,
)
_PLAIN_DOT_ONLY = re.compile(r"^[\w%+-]+(?:\.[\w%+-]+)*$")


def _obfuscation_is_clear(match: re.Match[str]) -> bool:
    at = match.group("at").strip().lower()
    if at not in ("at", "arroba", "chez"):
        return True  # "[at]", "(@)", " @ " say it outright
    # A bare " at " is everywhere in prose ("bought it at amazon.com"): it takes
    # an address-looking local part or a spelled-out dot to count.
    local, domain = match.group("local"), match.group("domain")
    spelled_dot = not _PLAIN_DOT_ONLY.match(domain)
    return spelled_dot or any(c in local for c in "._") or any(c.isdigit() for c in local)


def emails(text: str) -> Iterator[Span]:
    """Every e-mail address, plain or spelled out."""
    if "@" in text:
        for match in _EMAIL.finditer(text):
            yield Span(match.start(), match.end(), "email")
    for match in _OBFUSCATED_EMAIL.finditer(text):
        if _obfuscation_is_clear(match):
            yield Span(match.start(), match.end(), "email")


# --- phones -----------------------------------------------------------------------------

# Optional +/00 prefix, then digit groups joined by one separator; a group may
# sit in parentheses.  Possessive, so a run is read once and a long amount
# cannot be cut down into a "phone".
_PHONE = re.compile(
    r"(?=[0-9+(])(?<![\w+#$€£¥@/.,-])(?<![0-9]:)"
    r"(?:\+|\b00)?(?:\([0-9]{1,5}\)|[0-9]{1,5})(?:[ .\-/]?(?:\([0-9]{1,5}\)|[0-9]{1,5}))*+"
)
_GROUP = re.compile(r"[0-9]+")
# A date alone ("03.11.26"), or a run that starts with a dated year
# ("2026-11-03 12"), is never a phone; "06.12.34.56.78" still is.
_DATE_ALONE = re.compile(r"^[0-9][0-9]?[-/.][0-9][0-9]?[-/.][0-9]{2,4}$")
_DATE_START = re.compile(
    r"^(?:(?:19|20)[0-9]{2}[-/.][0-9]{1,2}[-/.][0-9]{1,2}|[0-9]{1,2}[-/.][0-9]{1,2}[-/.](?:19|20)[0-9]{2})(?![0-9])"
)
# "2026/0098", "2026-118": a year, then a serial, is an invoice or file number;
# "20261103-4471" starts with a compact date.
_YEAR_SERIAL = re.compile(
    r"^(?:(?:19|20)[0-9]{2}[-/.][0-9]{2,6}$"
    r"|(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])\b)"
)
_IP_SHAPE = re.compile(r"^[0-9]{1,3}(?:\.[0-9]{1,3}){3}$")
_AFTER_NOT_PHONE = re.compile(
    r"^(?:\s?(?:[%€$£¥]|(?:USD|EUR|GBP|CHF|CAD|AUD|dollars?|euros?)\b)|[.,:][0-9])",
    re.IGNORECASE,
)
_PHONE_KEYWORD = re.compile(
    r"(?:phone|tel|tél|telephone|téléphone|telefon|telefono|teléfono|mobile|cell|handy|"
    r"portable|móvil|movil|whatsapp|fax|call me|text me|txt|sms|reach me|rufen sie mich|"
    r"appelez-moi|joindre|llámame|llamame)"
    r"\.?(?:\s{0,3}(?:number|no\.?|nr\.?|nummer|numéro|número|#))?"
    r"\s{0,3}(?:[:=]|is|at|on|au|unter|al|es|est)?\s{0,3}$",
    re.IGNORECASE,
)


def _possible_phone(candidate: str, *, strict: bool) -> bool:
    """``phonenumbers`` says the digits can be a phone (``strict``: a number in service)."""
    written = "+" + candidate[2:] if candidate.startswith("00") else candidate
    regions: tuple[str | None, ...] = (None,) if written.startswith("+") else PHONE_REGIONS
    for region in regions:
        try:
            number = phonenumbers.parse(written, region)
        except NumberParseException:
            continue
        if (
            phonenumbers.is_valid_number(number)
            if strict
            else phonenumbers.is_possible_number(number)
        ):
            return True
    return False


def _looks_like_phone(candidate: str, before: str, after: str) -> bool:
    groups = _GROUP.findall(candidate)
    digits = sum(len(g) for g in groups)
    if not 8 <= digits <= 15:
        return False
    if _AFTER_NOT_PHONE.match(after) or _IP_SHAPE.match(candidate):
        return False
    international = candidate.startswith(("+", "00"))
    if not international and (
        _DATE_ALONE.match(candidate)
        or _DATE_START.match(candidate)
        or _YEAR_SERIAL.match(candidate)
    ):
        return False
    if len(groups) == 1:
        # A bare run of digits is an order or account number unless someone
        # said it is a phone, it carries an international prefix, or it is a
        # European national number in service ("0612345678").
        if international or _PHONE_KEYWORD.search(before):
            return _possible_phone(candidate, strict=False)
        return candidate.startswith("0") and _possible_phone(candidate, strict=True)
    if international:
        return _possible_phone(candidate, strict=False)
    # National forms: short groups only at the start ("1-800-..."), and runs of
    # pairs are French-style numbers, which start with 0 ("06 12 34 56 78"),
    # not a list like "12 14 16 18 20".  phonenumbers adds nothing here: with
    # German numbers (5 to 15 digits) among the regions, any length is possible.
    if max(len(g) for g in groups) <= 2 and not candidate.startswith("0"):
        return False
    return all(len(g) >= 2 for g in groups[1:])


def phones(text: str) -> Iterator[Span]:
    """Every phone number, international or in a national form of ``PHONE_REGIONS``."""
    for match in _PHONE.finditer(text):
        candidate = match.group()
        if len(candidate) < 8:
            continue
        before = text[max(0, match.start() - 40) : match.start()]
        after = text[match.end() : match.end() + 8]
        if _looks_like_phone(candidate, before, after):
            yield Span(match.start(), match.end(), "phone")

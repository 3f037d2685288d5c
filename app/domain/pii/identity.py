"""National identity numbers and dates of birth.

ID numbers are found by shape and confirmed by ``python-stdnum``'s validator
for that country (US SSN, UK National Insurance number, French NIR, German
Steuer-ID, Spanish DNI and NIE, Italian codice fiscale), so an order number
of the same length survives unless its check digits happen to work.
Passport numbers, which have no common check digits, count only right after
the word "passport" (or its French, German, Spanish, Italian name).  Shapes
that many order numbers share (nine or eleven bare digits) also need the
number's name written just before it ("SSN", "Steuer-ID").

A date counts as a date of birth only right after words that say so ("DOB",
"born on", "né le", "geboren am", "fecha de nacimiento") or right before
"geboren" / "born" / "née"; every other date
stays, because the draft and the guardrails need delivery dates and deadlines.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from stdnum.de import idnr
from stdnum.es import dni, nie
from stdnum.fr import nir
from stdnum.it import codicefiscale
from stdnum.us import ssn

from app.domain.facts import MONTH_NAMES
from app.domain.pii import Span

__all__ = ["birth_dates", "national_ids"]

_NINO_PREFIX_BANNED = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})


def _nino_ok(raw: str) -> bool:
    compact = raw.replace(" ", "").upper()
    first, second = compact[0], compact[1]
    return (
        first not in "DFIQUV" and second not in "DFIOQUV" and compact[:2] not in _NINO_PREFIX_BANNED
    )


_SSN_NAME = re.compile(r"(?i)\b(?:ssn|social\s+security(?:\s+(?:number|no\.?|#))?)\W{0,4}$")
_STEUER_ID_NAME = re.compile(
    r"(?i)(?:steuer-?id|steuer-?identifikationsnummer|steuerliche\s+identifikationsnummer"
    r"|identifikationsnummer|idnr\.?|tax\s+id)\W{0,4}(?:(?:ist|lautet|is)\s{1,2})?$"
)


def _named_before(name: re.Pattern[str]) -> Callable[[str, int], bool]:
    def check(text: str, start: int) -> bool:
        return name.search(text, max(0, start - 50), start) is not None

    return check


def _always(_text: str, _start: int) -> bool:
    return True


def _anywhere(_text: str) -> bool:
    return True


# A shape led by letters is tried at every letter of a text.  First a cheap look
# for what it cannot match without, which most messages lack: a NINO's six digits,
# a codice fiscale's sixteen characters with no space between.
_SIX_DIGITS = re.compile(r"[0-9]{2} ?[0-9]{2} ?[0-9]{2}")


def _six_digits(text: str) -> bool:
    return _SIX_DIGITS.search(text) is not None


def _sixteen_in_a_row(text: str) -> bool:
    return max(map(len, text.split()), default=0) >= 16


# (shape, validator, who must be named before it, whether the text can hold it at
# all) per kind of number; every shape is a bounded run anchored on both sides, so
# the scan is linear.  Each starts with its first character's class and looks
# behind only then: the engine skips in C to where that class occurs, instead of
# trying every position.
_ID_SHAPES: list[
    tuple[re.Pattern[str], Callable[[str], bool], Callable[[str, int], bool], Callable[[str], bool]]
] = [
    (
        re.compile(r"[0-9](?<![0-9-][0-9])[0-9]{2}-[0-9]{2}-[0-9]{4}(?![0-9]|-[0-9])"),
        ssn.is_valid,
        _always,
        _anywhere,
    ),
    (
        re.compile(r"[0-9](?<![0-9-][0-9])[0-9]{2} ?[0-9]{2} ?[0-9]{4}(?![0-9])"),
        ssn.is_valid,
        _named_before(_SSN_NAME),
        _anywhere,
    ),
    (
        re.compile(
            r"[A-Za-z](?<![A-Za-z0-9][A-Za-z])[A-Za-z] ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-Da-d]"
            r"(?![A-Za-z0-9])"
        ),
        _nino_ok,
        _always,
        _six_digits,
    ),
    (
        re.compile(
            r"[12](?<![0-9][12]) ?[0-9]{2} ?[0-9]{2} ?(?:[0-9]{2}|2[ABab]) ?[0-9]{3} ?[0-9]{3} ?[0-9]{2}"
            r"(?![0-9])"
        ),
        nir.is_valid,
        _always,
        _anywhere,
    ),
    (
        re.compile(r"[1-9](?<![0-9][1-9])[0-9] ?[0-9]{3} ?[0-9]{3} ?[0-9]{3}(?![0-9])"),
        idnr.is_valid,
        _named_before(_STEUER_ID_NAME),
        _anywhere,
    ),
    (
        re.compile(r"[0-9](?<![A-Za-z0-9][0-9])[0-9]{7}(?:-?[A-Za-z]| [A-Z])(?![A-Za-z0-9])"),
        lambda raw: dni.is_valid(raw.replace(" ", "")),
        _always,
        _anywhere,
    ),
    (
        re.compile(r"[XYZxyz](?<![A-Za-z0-9][XYZxyz])-?[0-9]{7}-?[A-Za-z](?![A-Za-z0-9])"),
        nie.is_valid,
        _always,
        _anywhere,
    ),
    (
        re.compile(
            r"[A-Za-z](?<![A-Za-z0-9][A-Za-z])[A-Za-z]{5}[0-9LMNPQRSTUVlmnpqrstuv]{2}[A-Za-z]"
            r"[0-9LMNPQRSTUVlmnpqrstuv]{2}[A-Za-z][0-9LMNPQRSTUVlmnpqrstuv]{3}[A-Za-z]"
            r"(?![A-Za-z0-9])"
        ),
        lambda raw: codicefiscale.is_valid(raw.upper()),
        _always,
        _sixteen_in_a_row,
    ),
]


# Passport numbers have no common check digits: only when named, and with a digit.
_PASSPORT = re.compile(
    r"(?i)(?<!\w)(?:passport|passeport|reisepass|pasaporte|passaporto)"
    r"(?:\s{1,2}(?:number|no\.?|nr\.?|num[ée]ro|nummer|n[º°o]\.?|#))?[\s:#]{0,3}"
    r"(?:(?:is|est|ist|es)\s{1,2})?(?P<value>(?-i:[A-Z0-9]{6,9}))(?![A-Za-z0-9])"
)


def national_ids(text: str) -> Iterator[Span]:
    """Every national ID number whose check digits hold, and named passport numbers."""
    for shape, valid, named, possible in _ID_SHAPES:
        if not possible(text):
            continue
        for match in shape.finditer(text):
            if named(text, match.start()) and valid(match.group()):
                yield Span(match.start(), match.end(), "national_id")
    for match in _PASSPORT.finditer(text):
        if any(c.isdigit() for c in match.group("value")):
            yield Span(match.start("value"), match.end("value"), "national_id")


_MONTH = "|".join(sorted((re.escape(m) for m in MONTH_NAMES), key=len, reverse=True))
_BIRTH_WORDS = re.compile(
    r"(?i)(?<!\w)(?:d\.?\s?o\.?\s?b\b\.?|date\s+of\s+birth|birth\s?date|birthday|born(?:\s+on)?"
    r"|née?\s+le|date\s+de\s+naissance|geboren(?:\s+am)?|geb(?:urts)?\.?-?\s?datum|geb\."
    r"|geburtstag"
    r"|fecha\s+de\s+nacimiento|f\.\s?nac\.|nacid[oa]\s+el|cumpleaños)"
)
_DATE = (
    r"(?P<date>[0-9]{1,2}[./-][0-9]{1,2}[./-](?:[0-9]{4}|[0-9]{2})"
    r"|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"
    rf"|[0-9]{{1,2}}(?:st|nd|rd|th|er|\.|º)?\s{{1,2}}(?:de\s+|of\s+)?(?:{_MONTH})\.?"
    r"(?:,?\s{1,2}(?:de\s+)?[0-9]{4})?"
    rf"|(?:{_MONTH})\.?\s{{1,2}}[0-9]{{1,2}}(?:st|nd|rd|th)?(?:,?\s{{1,2}}[0-9]{{4}})?)"
    r"(?![0-9])"
)
_BIRTH_DATE = re.compile(
    r"[\s:=,(-]{0,4}(?:(?:is|was|est|ist|es|on|the|le|am|el|war|era)\s{1,3}){0,2}" + _DATE,
    re.IGNORECASE,
)
# German and French often put the word after the date: "am 5. Mai 1990 geboren".
# The date is looked for only in the few characters before such a word.
_BORN_AFTER = re.compile(r"(?i)(?<=\s)(?:geboren|born|née?|nacid[oa])(?!\w)")
_DATE_BEFORE_BORN = re.compile(rf"(?<![0-9]){_DATE}\s{{1,2}}$", re.IGNORECASE)


def birth_dates(text: str) -> Iterator[Span]:
    """Dates written right after words that make them a date of birth."""
    for word in _BIRTH_WORDS.finditer(text):
        match = _BIRTH_DATE.match(text, word.end())
        if match:
            yield Span(match.start("date"), match.end("date"), "birthdate")
    for word in _BORN_AFTER.finditer(text):
        match = _DATE_BEFORE_BORN.search(text, max(0, word.start() - 24), word.start())
        if match:
            yield Span(match.start("date"), match.end("date"), "birthdate")

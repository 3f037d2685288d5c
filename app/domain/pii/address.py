"""Street addresses and postcode lines, as written in English, French, German and Spanish.

A street address is a house number next to a street-type word: "221B Baker
Street", "12 rue de la Paix", "Hauptstraße 5a", "Calle Mayor 12, 3º B",
"Via Roma 12".  A postcode line is what e-mail signatures put under it:
"75011 Paris", "D-10115 Berlin", "1012 AB Amsterdam" on a line of their own
(or after a comma), a UK postcode or Irish Eircode anywhere, a US state and
ZIP after a comma.
The street name must look like a name (capitalized words, with the
particles "de la", "del", "di"), so "3 new road bikes" and "paseo de 20
minutos" stay.  Every repetition is bounded or possessive: linear time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from app.domain.pii import Span

__all__ = ["addresses"]

_UPPER = "A-ZÀ-ÖØ-Þ"
_CAPITALIZED = rf"[{_UPPER}][\w'’.-]{{0,30}}+"

_EN_TYPES = (
    r"(?i:street|st|avenue|ave|road|rd|lane|ln|drive|dr|boulevard|blvd|court|ct|place|pl|way"
    r"|terrace|close|crescent|square|sq|highway|hwy|parkway|pkwy|circle|cir|row|gardens|grove"
    r"|mews|walk)"
)
_EN = (
    rf"[0-9](?<![\w-][0-9])[0-9]{{0,4}}[A-Za-z]?(?:-[0-9]{{1,5}})?,?\s{{1,2}}"
    rf"(?:{_CAPITALIZED}\s{{1,2}}){{1,4}}"
    rf"{_EN_TYPES}\b\.?(?:,?\s{{1,2}}(?i:apt|apartment|flat|suite|ste|unit|\#)\.?\s{{0,2}}"
    r"[0-9A-Za-z-]{1,6}+)?"
)

_FR_TYPES = (
    r"(?i:rue|avenue|av\.|bd|boulevard|place|allée|allee|impasse|chemin|quai|route|cours|square"
    r"|passage|voie|résidence|residence|rond-point|faubourg|fbg|cité|cite|hameau)"
)
_FR_PARTICLE = r"(?i:de|du|des|la|le|les|l['’]|d['’]|aux|à|sur|saint|sainte)"
_FR = (
    rf"[0-9](?<![\w-][0-9])[0-9]{{0,3}}(?:\s?(?i:bis|ter|[a-c])\b)?,?\s{{1,2}}{_FR_TYPES}\s{{1,2}}"
    rf"(?:{_FR_PARTICLE}\s?){{0,3}}(?!{_FR_PARTICLE}\s)[^\W\d_][\w'’-]{{0,30}}+"
    rf"(?:\s(?:{_FR_PARTICLE}\s?){{0,3}}[{_UPPER}][\w'’-]{{0,30}}+){{0,4}}"
)

# Spanish (and Italian) put the number after the name.
_ES_TYPES = (
    r"(?:(?i:calle|c/|avenida|avda\.?|carretera|ctra\.|traves[íi]a|glorieta|paseo|ronda|rambla"
    r"|plaza|pza\.|camino)|Via|Viale|Piazza|Corso|Largo)"
)
_ES_PARTICLE = r"(?i:de|del|la|las|los|el|di|della|dei|delle|san|santa)"
_ES = (
    # The type is a whole word ("called 5 times" is no "calle"), or ends in "/" or ".".
    rf"(?<![\w/]){_ES_TYPES}(?:(?<=[/.])\s{{0,2}}|\s{{1,2}})(?:{_ES_PARTICLE}\s){{0,3}}"
    rf"(?!{_ES_PARTICLE}\s)"
    rf"[^\W\d_][\w'’-]{{0,30}}+(?:\s(?:{_ES_PARTICLE}\s){{0,3}}[{_UPPER}][\w'’-]{{0,30}}+){{0,3}}"
    r",?\s{0,2}(?:(?i:n[º°o]|num|número)\.?\s?)?[0-9]{1,4}[A-Za-z]?(?![\w])"
    r"(?:,?\s{0,2}[0-9]{1,2}\s?[º°ª]\.?"
    r"(?:\s?-?\s?(?:[0-9A-Za-z]{1,2}|(?i:izq(?:da)?|dcha|dch|centro|ctro))\.?(?![\w]))?)?"
)

_DE = (
    r"[A-ZÄÖÜ](?<![\w-][A-ZÄÖÜ])(?:[a-zäöüß-]{0,40}?"
    r"(?:straße|strasse|str\.|weg|gasse|platz|allee|ring|damm|ufer|chaussee)"
    r"|[a-zäöüß]{1,30}+[ -](?:Straße|Strasse|Str\.|Weg|Gasse|Platz|Allee|Ring|Damm|Ufer))"
    r"\s{1,2}[0-9]{1,4}(?:\s?[a-zA-Z](?!\w))?(?!\w)"
)

# Scanned one by one: a pattern that starts with a character class (and looks
# behind only after it) lets the engine skip to the next digit or capital in C,
# four times faster than one alternation.
_STREETS = tuple(re.compile(pattern) for pattern in (_EN, _FR, _DE))
_ES_STREET = re.compile(_ES)
_ES_TYPE_STEMS = (
    "calle", "c/", "avenida", "avda", "carretera", "ctra", "traves", "glorieta", "paseo", "ronda",
    "rambla", "plaza", "pza", "camino", "via", "piazza", "corso", "largo",
)  # fmt: skip
# Any of the stems, in one scan that skips in C to where one can start.
_ES_TYPE_STEM = re.compile("|".join(re.escape(stem) for stem in _ES_TYPE_STEMS))
_TOWN = (
    rf"[{_UPPER}][\w'’-]{{1,30}}+"
    rf"(?:[ -](?:[{_UPPER}][\w'’-]{{1,30}}+|sur|sous|am|an|der|im|de|del|la|le|en)){{0,3}}"
)
# The postcode and town that follow a street in running text ("Avda. de la
# Constitución 5, 41001 Sevilla y el paquete…"), where no line ends after them.
_POSTCODE_AFTER_STREET = re.compile(
    rf",?[ \t]{{1,2}}(?:(?:[A-Z]{{1,2}}-)?[0-9]{{4,5}}|[0-9]{{4}} ?[A-Z]{{2}})[ \t]{{1,2}}{_TOWN}"
)

# "75011 Paris", "D-10115 Berlin", "1012 AB Amsterdam", "28013 Madrid": a line of
# its own (or after a comma), so "order 48213 Paris" in prose is not one.
_POSTCODE_LINE = re.compile(
    rf"(?m)(?:^|(?<=,)|(?<=, ))[ \t]{{0,4}}(?:(?:[A-Z]{{1,2}}-)?[0-9]{{4,5}}|[0-9]{{4}} ?[A-Z]{{2}})"
    rf"[ \t]{{1,2}}{_TOWN}"
    r"(?:[ \t]{1,2}(?i:cedex)(?:[ \t]?[0-9]{1,2})?)?(?=[ \t]{0,4}(?:$|[,;(]|\.(?:\s|$)))"
)
# A UK postcode ("NW1 6XE") or an Irish Eircode ("P24 X2N3"), both in their own alphabets.
_UK_POSTCODE = re.compile(
    r"[A-Z](?<![A-Za-z0-9][A-Z])(?:[A-Z]?[0-9][A-Z0-9]? ?[0-9][A-Z]{2}"
    r"|(?:(?<=[AC-FHKNPRTV-Y])[0-9]{2}|(?<=D)6W) [0-9AC-FHKNPRTV-Y]{4})(?![A-Za-z0-9])"
)
_US_STATES = frozenset(
    (
        "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN",
        "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH",
        "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT",
        "VT", "VA", "WA", "WV", "WI", "WY",
    )
)  # fmt: skip
_US_STATE_ZIP = re.compile(r"(?<=, )(?P<state>[A-Z]{2}) [0-9]{5}(?:-[0-9]{4})?(?![0-9])")


def addresses(text: str) -> Iterator[Span]:
    """Street addresses with a house number, and postcode lines.

    Streets come first: "2250 Maple Avenue" on a line of its own is a street,
    not a four-digit postcode and a town.
    """
    lowered = text.lower()
    streets = [*_STREETS, _ES_STREET] if _ES_TYPE_STEM.search(lowered) else _STREETS
    found = sorted(
        (m for street in streets for m in street.finditer(text)), key=lambda m: m.start()
    )
    for match in found:
        yield Span(match.start(), match.end(), "address")
        town = _POSTCODE_AFTER_STREET.match(text, match.end())
        if town:
            written = town.group()
            yield Span(town.end() - len(written.lstrip(", \t")), town.end(), "address")
    for match in _POSTCODE_LINE.finditer(text):
        start = match.start() + len(match.group()) - len(match.group().lstrip(" \t"))
        yield Span(start, match.end(), "address")
    for match in _UK_POSTCODE.finditer(text):
        yield Span(match.start(), match.end(), "address")
    for match in _US_STATE_ZIP.finditer(text):
        if match.group("state") in _US_STATES:
            yield Span(match.start(), match.end(), "address")

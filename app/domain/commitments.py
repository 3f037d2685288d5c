"""Commitments: the promises with a time that a sent reply makes, resolved to a moment.

"We will refund you by Friday", "je reviens vers vous sous 48 heures",
"ich melde mich morgen", "le escribiremos antes del viernes": a small set of
cue patterns per language (en, fr, de, es) finds the phrase, and dateparser
(offline, its language data ships with the package) resolves it in the
customer's channel time zone against a given "now".  Cues keep false
positives down: a bare date ("you ordered on Friday") is not a promise.

A day without a time of day ("by Friday", "tomorrow") is due at the end of
the working day there (``END_OF_DAY``); a duration ("within 48 hours") is
due that long after now.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

LANGUAGES = ("en", "fr", "de", "es")
# A promise "by Friday" is kept if done during Friday's working day.
END_OF_DAY = time(17, 0)
# One reply promising more than this is read as listing, not promising.
MAX_PER_REPLY = 3

_NUMBER = r"(?P<n>\d{1,3}|an?|one|two|three|une?|deux|trois|einer?|einem|zwei|drei|una?|dos|tres)"
_UNITS = (
    r"(?P<unit>business days?|working days?|hours?|days?|weeks?|minutes?"
    r"|heures?|jours? ouvrés|jours?|semaines?"
    r"|Stunden?|Werktagen?|Tagen?|Wochen?|Minuten?"
    r"|horas?|días? hábiles|d[ií]as?|semanas?|minutos?)"
)
_WORD_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "un": 1, "une": 1, "deux": 2, "trois": 3,
    "ein": 1, "eine": 1, "einer": 1, "einem": 1, "zwei": 2, "drei": 3,
    "uno": 1, "una": 1, "dos": 2, "tres": 3,
}
# "within 48 hours": the cue words before a duration, per language.
_DURATION_CUES = {
    "en": r"within|in the next|in|no later than",
    "fr": r"sous|d'ici|dans|en moins de|dans les",
    "de": r"innerhalb von|innerhalb|binnen|in den nächsten|in",
    "es": r"dentro de|en un plazo de|en menos de|en",
}
# "by Friday": the cue words before a day, per language.
_DAY_CUES = {
    "en": r"by|before|until|no later than|by the end of",
    "fr": r"d'ici|avant|pour|jusqu'à|au plus tard",
    "de": r"bis spätestens|bis zum|bis|spätestens|vor",
    "es": r"antes del?|para el|hasta el|a más tardar el",
}
# Days said without a cue still promise: "I'll get back to you tomorrow".
_BARE_DAYS = {
    "en": r"tomorrow|today|tonight",
    "fr": r"demain|aujourd'hui|ce soir",
    "de": r"morgen|heute|übermorgen",
    "es": r"mañana|hoy|pasado mañana",
}
_WEEKDAYS = {
    "en": r"monday|tuesday|wednesday|thursday|friday|saturday|sunday",
    "fr": r"lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche",
    "de": r"montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag",
    "es": r"lunes|martes|miércoles|jueves|viernes|sábado|domingo",
}
_END_OF_WEEK = {
    "en": r"(?:the )?end of (?:the|this) week",
    "fr": r"la fin de (?:la|cette) semaine",
    "de": r"(?:zum )?ende der woche",
    "es": r"(?:el )?final de (?:la|esta) semana|fin de semana",
}
_MONTHS = (
    r"jan\w*|feb\w*|mar\w*|apr\w*|may|jun\w*|jul\w*|aug\w*|sep\w*|oct\w*|nov\w*|dec\w*"
    r"|janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre"
    r"|januar|februar|märz|april|mai|juni|juli|august|september|oktober|november|dezember"
    r"|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre"
)
_TIME = r"(?:\s+(?:at|à|um|a las)\s+\d{1,2}(?:[:h.]\d{2})?\s*(?:am|pm|h|uhr)?)?"
# Greetings and mornings that look like days: "Guten Morgen", "esta mañana".
_NOT_A_PROMISE = re.compile(
    r"(guten|jeden|am|heute)\s+morgen\b|(la|esta|por la|de la|cada)\s+mañana\b", re.IGNORECASE
)
_HAS_TIME = re.compile(r"\d{1,2}(?:[:h.]\d{2})?\s*(?:am|pm|h\b|uhr)|\d{1,2}:\d{2}", re.IGNORECASE)


@dataclass(frozen=True)
class Commitment:
    """One promise: the words that made it and when it is due (timezone-aware, UTC)."""

    phrase: str
    due_at: datetime
    language: str


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; raises ``ValueError`` saying what to write instead."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r}: use an IANA name such as Europe/Paris or UTC"
        ) from None


def _patterns() -> list[tuple[str, str, re.Pattern[str]]]:
    """(language, kind, pattern) for every cue; kind is 'duration' or 'day'."""
    found = []
    for lang in LANGUAGES:
        found.append((lang, "duration", re.compile(
            rf"\b(?:{_DURATION_CUES[lang]})\s+(?:the\s+next\s+|les\s+|den\s+)?{_NUMBER}\s+{_UNITS}\b",
            re.IGNORECASE,
        )))
        day = (
            rf"(?P<day>(?:next\s+|prochain\s+|nächsten\s+|el\s+próximo\s+)?(?:{_WEEKDAYS[lang]})"
            rf"|{_END_OF_WEEK[lang]}|{_BARE_DAYS[lang]}"
            rf"|\d{{1,2}}\.?\s+(?:de\s+)?(?:{_MONTHS})|(?:{_MONTHS})\s+\d{{1,2}}(?:st|nd|rd|th)?)"
        )
        found.append((lang, "day", re.compile(
            rf"\b(?:{_DAY_CUES[lang]})\s+(?:the\s+|le\s+|el\s+)?{day}{_TIME}", re.IGNORECASE
        )))
        found.append((lang, "day", re.compile(
            rf"(?<![\w'])(?P<day>{_BARE_DAYS[lang]}){_TIME}(?![\w'])", re.IGNORECASE
        )))
    return found


_ALL_PATTERNS = _patterns()
# Every unit's English name: dateparser reads "in 48 hours" the same in any channel.
_UNIT_NAMES = (
    ("business", "days"), ("working", "days"), ("werk", "days"), ("hour", "hours"),
    ("heure", "hours"), ("stunde", "hours"), ("hora", "hours"), ("minut", "minutes"),
    ("week", "weeks"), ("semaine", "weeks"), ("woche", "weeks"), ("semana", "weeks"),
    ("day", "days"), ("jour", "days"), ("tag", "days"), ("día", "days"), ("dia", "days"),
)


def _parse(phrase: str, language: str, *, now: datetime, tz: str) -> datetime | None:
    settings: dict[str, Any] = {
        # dateparser wants a naive base in the zone it is told about.
        "RELATIVE_BASE": now.astimezone(zone(tz)).replace(tzinfo=None),
        "TIMEZONE": tz,
        "RETURN_AS_TIMEZONE_AWARE": True,
        "PREFER_DATES_FROM": "future",
    }
    # Every language at once: a French channel's agent may still write "by Friday".
    languages = [language, *(other for other in LANGUAGES if other != language)]
    # Imported on the first commitment, not with the bot: 12 MB a server that only
    # drafts never needs.
    import dateparser

    parsed: datetime | None = dateparser.parse(phrase, languages=languages, settings=settings)
    return parsed


def _end_of_week(language: str, *, now: datetime, tz: str) -> datetime | None:
    friday = {"en": "friday", "fr": "vendredi", "de": "freitag", "es": "viernes"}[language]
    local = now.astimezone(zone(tz))
    if local.weekday() == 4:
        return local
    return _parse(friday, language, now=now, tz=tz)


def _resolve(match: re.Match[str], language: str, kind: str, *, now: datetime, tz: str
             ) -> datetime | None:
    if kind == "duration":
        word = match.group("n").lower()
        count = int(word) if word.isdigit() else _WORD_NUMBERS.get(word, 1)
        unit = match.group("unit").lower()
        english = next(name for prefix, name in _UNIT_NAMES if unit.startswith(prefix))
        if any(w in unit for w in ("business", "working", "ouvrés", "werk", "hábiles")):
            # Working days are promised like calendar days plus the weekends between them.
            count += 2 * ((count + now.astimezone(zone(tz)).weekday()) // 5)
        return _parse(f"in {count} {english}", "en", now=now, tz=tz)
    day = match.group("day")
    if re.fullmatch(_END_OF_WEEK[language], day, re.IGNORECASE):
        parsed = _end_of_week(language, now=now, tz=tz)
    else:
        words = re.sub(r"^(next|prochain|nächsten|el próximo)\s+", "", day, flags=re.IGNORECASE)
        tail = match.group(0)[match.end("day") - match.start(0):]
        parsed = _parse((words + tail).strip(), language, now=now, tz=tz)
    if parsed is None:
        return None
    if not _HAS_TIME.search(match.group(0)):
        parsed = datetime.combine(parsed.date(), END_OF_DAY, tzinfo=zone(tz))
    return parsed


def find_commitments(text: str, *, now: datetime, tz: str = "UTC") -> list[Commitment]:
    """The promises with a time in ``text``, earliest first, at most ``MAX_PER_REPLY``.

    ``now`` (timezone-aware) is when the reply was sent; ``tz`` is the
    customer's channel time zone, in which "Friday" and "17:00" are meant.
    """
    if now.tzinfo is None:
        raise ValueError("find_commitments needs a timezone-aware now")
    zone(tz)
    spans: list[tuple[int, int]] = []
    found: dict[datetime, Commitment] = {}
    for language, kind, pattern in _ALL_PATTERNS:
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(start < e and s < end for s, e in spans):
                continue  # a longer cue of another pattern already took these words
            window = text[max(0, start - 12):end]
            if _NOT_A_PROMISE.search(window):
                continue
            due = _resolve(match, language, kind, now=now, tz=tz)
            if due is None:
                continue
            spans.append((start, end))
            due_utc = max(due, now).astimezone(now.tzinfo)
            found.setdefault(due_utc, Commitment(match.group(0).strip(), due_utc, language))
    return sorted(found.values(), key=lambda c: c.due_at)[:MAX_PER_REPLY]

"""Money amounts and dates a text states, so the guardrails can ask "who said so?".

A draft may only repeat an amount or a deadline that the conversation, the
agent's guidance or a kept offer backs.  These functions find amounts
("$1,299.00", "20 €", "1.299,00 EUR", "30 %") and dates or deadlines
("by Friday", "tomorrow", "3 December", "12/05", "within 48 hours", "5 pm")
in English, French, German and Spanish, and give each date a normalized key
(``wd:4``, ``dm:3-12``, ``dur:48``, ``rel:tomorrow``, ``time:17:00``) so that
"48 hours" in the reply is backed by "2 days" in the context.  The same
extractor reads both sides, which matters more than any single key being
perfect.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from app.domain.phrases import word_runs

__all__ = ["MONTH_NAMES", "Amount", "DateMention", "amounts_in", "dates_in", "numbers_in"]


@dataclass(frozen=True)
class Amount:
    text: str
    value: float
    percent: bool
    # ISO codes the written currency may stand for ("$" is any dollar); empty when
    # none is written or for a percentage.
    currencies: frozenset[str] = frozenset()
    span: tuple[int, int] = (0, 0)

    def in_currency(self, code: str) -> bool:
        """Whether this amount can be in ``code``: yes when no currency is written."""
        return not self.currencies or code.upper() in self.currencies


@dataclass(frozen=True)
class DateMention:
    text: str  # as written, with a leading "by"/"on"/"bis"... when there is one
    keys: frozenset[str]  # any of these in the context backs the mention
    span: tuple[int, int]


# --- amounts --------------------------------------------------------------------------

# Bounded and possessive: a number may start after any space, so "000 000 000…"
# offers a start at every group; an unbounded group list rescanned the rest of
# the run from each (quadratic: 20 KB took 7.7 s).  Up to 10^18 is plenty.
_NUMBER = r"(?:\d{1,3}(?:[,.\s]\d{3}){1,6}+(?:[.,]\d{1,2})?|\d{1,18}+(?:[.,]\d{1,2})?)"
_SIGN = r"(?:US\$|CA?\$|AU?\$|\$|€|£|¥|₹)"
_CODE = r"(?:USD|EUR|GBP|CHF|CAD|AUD|JPY|SEK|NOK|DKK|PLN|MXN|BRL|INR)"
_MONEY_WORD = r"(?i:dollars?|euros?|pounds?|francs?|pesos?|bucks)"
_PERCENT_WORD = r"(?i:%|percent|per\s?cent|pour\s?cent|prozent|por\s?ciento)"
# The leading lookahead lets the scan skip, in one step, every position that
# cannot start an amount: eight times faster on ordinary prose.
_AMOUNT = re.compile(
    rf"(?=[\d$€£¥₹A-Z])(?:(?<![\w$€£¥₹])(?:{_SIGN}|{_CODE}\b)\s?(?P<before>{_NUMBER})(?!\d)"
    rf"|(?<![\d.,])(?P<after>{_NUMBER})\s?(?:{_SIGN}|(?:{_CODE}|{_MONEY_WORD})\b)"
    rf"|(?<![\d.,])(?P<percent>{_NUMBER})\s?{_PERCENT_WORD})"
)
_BARE_NUMBER = re.compile(rf"(?=\d)(?<![\d.,]){_NUMBER}(?!\d)")


def _to_number(raw: str) -> float:
    digits = re.sub(r"\s", "", raw)
    dot, comma = digits.rfind("."), digits.rfind(",")
    if dot >= 0 and comma >= 0:
        decimal = "." if dot > comma else ","
        grouping = "," if decimal == "." else "."
        digits = digits.replace(grouping, "").replace(decimal, ".")
    elif dot >= 0 or comma >= 0:
        sep = "." if dot >= 0 else ","
        tail = digits.rpartition(sep)[2]
        # "1,299" and "1.299" group thousands; "20,50" and "20.5" are decimals.
        grouped = digits.count(sep) > 1 or len(tail) == 3
        digits = digits.replace(sep, "" if grouped else ".")
    return round(float(digits), 2)


_DOLLARS = frozenset({"USD", "CAD", "AUD", "NZD", "HKD", "SGD", "MXN"})
_CURRENCY_OF = {
    "us$": frozenset({"USD"}), "c$": frozenset({"CAD"}), "ca$": frozenset({"CAD"}),
    "a$": frozenset({"AUD"}), "au$": frozenset({"AUD"}), "$": _DOLLARS, "€": frozenset({"EUR"}),
    "£": frozenset({"GBP"}), "¥": frozenset({"JPY", "CNY"}), "₹": frozenset({"INR"}),
    "dollar": _DOLLARS, "dollars": _DOLLARS, "bucks": _DOLLARS, "buck": _DOLLARS,
    "euro": frozenset({"EUR"}), "euros": frozenset({"EUR"}), "pound": frozenset({"GBP"}),
    "pounds": frozenset({"GBP"}), "franc": frozenset({"CHF"}), "francs": frozenset({"CHF"}),
}  # fmt: skip
_CURRENCY_MARK = re.compile(rf"{_SIGN}|\b{_CODE}\b|\b{_MONEY_WORD}\b")


def _currencies(written: str, number: str) -> frozenset[str]:
    # What stands beside the number: the match minus its digits.  One search over
    # a few characters, so it stays cheap whatever the text around.
    mark = _CURRENCY_MARK.search(written.replace(number, " ", 1))
    if mark is None:
        return frozenset()
    found = mark.group().lower()
    return _CURRENCY_OF.get(found, frozenset({found.upper()}))


def amounts_in(text: str) -> list[Amount]:
    """Money amounts and percentages, in the order they appear."""
    found = []
    for match in _AMOUNT.finditer(text):
        raw = match.group("before") or match.group("after") or match.group("percent")
        percent = bool(match.group("percent"))
        written = match.group()
        lead = len(written) - len(written.lstrip())
        found.append(
            Amount(
                written.strip(),
                _to_number(raw),
                percent,
                frozenset() if percent else _currencies(written, raw),
                (match.start() + lead, match.start() + len(written.rstrip())),
            )
        )
    return found


def numbers_in(text: str) -> set[float]:
    """Every number the text states, with or without a currency: what can back an amount."""
    return {_to_number(m.group()) for m in _BARE_NUMBER.finditer(text)}


# --- dates and deadlines ----------------------------------------------------------------

_WEEKDAYS = {
    **dict.fromkeys(["monday", "lundi", "montag", "lunes"], 0),
    **dict.fromkeys(["tuesday", "mardi", "dienstag", "martes"], 1),
    **dict.fromkeys(["wednesday", "mercredi", "mittwoch", "miércoles", "miercoles"], 2),
    **dict.fromkeys(["thursday", "jeudi", "donnerstag", "jueves"], 3),
    **dict.fromkeys(["friday", "vendredi", "freitag", "viernes"], 4),
    **dict.fromkeys(["saturday", "samedi", "samstag", "sonnabend", "sábado", "sabado"], 5),
    **dict.fromkeys(["sunday", "dimanche", "sonntag", "domingo"], 6),
}
_MONTHS = {
    **dict.fromkeys(["january", "jan", "janvier", "januar", "enero"], 1),
    **dict.fromkeys(["february", "feb", "février", "fevrier", "februar", "febrero"], 2),
    **dict.fromkeys(["march", "mar", "mars", "märz", "maerz", "marzo"], 3),
    **dict.fromkeys(["april", "apr", "avril", "abril"], 4),
    **dict.fromkeys(["may", "mai", "mayo"], 5),
    **dict.fromkeys(["june", "jun", "juin", "juni", "junio"], 6),
    **dict.fromkeys(["july", "jul", "juillet", "juli", "julio"], 7),
    **dict.fromkeys(["august", "aug", "août", "aout", "agosto"], 8),
    **dict.fromkeys(["september", "sep", "sept", "septembre", "septiembre", "setiembre"], 9),
    **dict.fromkeys(["october", "oct", "octobre", "oktober", "octubre"], 10),
    **dict.fromkeys(["november", "nov", "novembre", "noviembre"], 11),
    **dict.fromkeys(["december", "dec", "décembre", "decembre", "dezember", "diciembre"], 12),
}
# Month names and abbreviations in the four languages, lower case.
MONTH_NAMES: frozenset[str] = frozenset(_MONTHS)
_NUMBER_WORDS = {
    **dict.fromkeys(["one"], 1),
    **dict.fromkeys(["two", "deux", "zwei", "dos"], 2),
    **dict.fromkeys(["three", "trois", "drei", "tres"], 3),
    **dict.fromkeys(["four", "quatre", "vier", "cuatro"], 4),
    **dict.fromkeys(["five", "cinq", "fünf", "cinco"], 5),
    **dict.fromkeys(["six", "sechs", "seis"], 6),
    **dict.fromkeys(["seven", "sept", "sieben", "siete"], 7),
    **dict.fromkeys(["ten", "dix", "zehn", "diez"], 10),
    **dict.fromkeys(["fourteen", "quatorze", "vierzehn", "catorce"], 14),
    **dict.fromkeys(["twenty-four", "twenty four"], 24),
    **dict.fromkeys(["forty-eight", "forty eight"], 48),
}
_FEW = r"(?:a\s+few|a\s+couple\s+of|quelques|ein\s+paar|einige|unos|unas)"
_UNITS: dict[str, tuple[str, float]] = {
    "minute": (r"minutes?|mins?|minuten?|minutos?", 1 / 60),
    "hour": (r"hours?|hrs?|h|heures?|stunden?|std\.?|horas?", 1),
    "day": (r"(?:business\s+|working\s+|calendar\s+)?days?|jours?(?:\s+ouvr[ée]s|\s+ouvrables)?"
            r"|werktagen?|werktage|arbeitstagen?|tagen?"
            r"|d[ií]as?(?:\s+h[áa]biles|\s+laborables)?", 24),
    "week": (r"weeks?|semaines?|wochen?|semanas?", 168),
    "month": (r"months?|mois|monaten?|monate|meses|mes", 720),
}  # fmt: skip


def _alternation(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_MONTH = _alternation(list(_MONTHS))
_COUNT = rf"\d+|{_alternation(list(_NUMBER_WORDS))}|{_FEW}"
_UNIT = "|".join(f"(?P<{name}>{pattern})" for name, (pattern, _) in _UNITS.items())
_RELATIVE = {
    "day_after": r"day\s+after\s+tomorrow|apr[èe]s-demain|übermorgen|pasado\s+mañana",
    "tomorrow": r"tomorrow|demain|(?<!guten\s)(?<!am\s)(?<!jeden\s)(?<!heute\s)morgen"
    r"|(?<!la\s)(?<!esta\s)(?<!cada\s)(?<!una\s)mañana",
    "today": r"tonight|this\s+(?:afternoon|evening)|later\s+today|by\s+today"
    r"|end\s+of\s+(?:the\s+)?day|end\s+of\s+today|eod|ce\s+soir|noch\s+heute|heute\s+abend"
    r"|esta\s+(?:tarde|noche)|hoy\s+mismo",
    "this_week": r"(?:the\s+)?end\s+of\s+(?:the|this)\s+week|this\s+week|cette\s+semaine"
    r"|fin\s+de\s+(?:la\s+)?semaine|diese\s+woche|ende\s+der\s+woche|esta\s+semana",
    "weekend": r"(?:this|the)\s+weekend|ce\s+week-end|am\s+wochenende"
    r"|(?:este\s+)?fin\s+de\s+semana",
    "next_week": r"next\s+week|(?:la\s+)?semaine\s+prochaine|n[äa]e?chste\s+woche"
    r"|kommende\s+woche|la\s+pr[óo]xima\s+semana|la\s+semana\s+que\s+viene",
    "next_month": r"next\s+month|le\s+mois\s+prochain|n[äa]e?chsten\s+monat|el\s+pr[óo]ximo\s+mes",
}
_LEAD_IN = re.compile(
    r"\b(?:by|before|until|till|on|from|within|in|under|d'ici|avant|jusqu'à|sous|dans|bis|vor"
    r"|innerhalb\s+von|binnen|am|zum|vom|ab|hasta|antes\s+del?|para\s+el|en|dentro\s+de)\s+$",
    re.IGNORECASE,
)


def _named_month(word: str) -> int:
    # "may" is a month only when written "May"; "it may 2..." is a verb.
    return 0 if word == "may" else _MONTHS[word.lower()]


def _day_month(day: int, month: int) -> set[str]:
    return {f"dm:{day}-{month}"} if 1 <= day <= 31 and 1 <= month <= 12 else set()


def _number_key(word: str) -> float | None:
    word = re.sub(r"\s+", " ", word.lower())
    if word.isdigit():
        return float(word)
    return float(_NUMBER_WORDS[word]) if word in _NUMBER_WORDS else None


def _unit_factor(m: re.Match[str]) -> tuple[str, float]:
    unit = next(name for name in _UNITS if m.group(name))
    return unit, _UNITS[unit][1]


def _duration(m: re.Match[str]) -> set[str]:
    unit, factor = _unit_factor(m)
    low = _number_key(m.group("low"))
    if low is None:  # "a few days": vague, but still a time the reply commits to
        return {f"dur:few:{unit}"}
    high = _number_key(m.group("high")) if m.group("high") else None
    if high is None:
        return {f"dur:{low * factor:g}"}
    return {f"dur:{low * factor:g}-{high * factor:g}"}


def _time(hour: int, minute: int, meridiem: str | None = None) -> set[str]:
    if meridiem:
        hour = hour % 12 + (12 if meridiem.lower() == "p" else 0)
    return {f"time:{hour:02d}:{minute:02d}"} if hour < 24 and minute < 60 else set()


def _slashed(m: re.Match[str]) -> set[str]:
    first, second = int(m.group(1)), int(m.group(2))
    if (first, second) == (24, 7):  # "24/7" is a slogan, not a date
        return set()
    return _day_month(first, second) | _day_month(second, first)


_Keyer = Callable[[re.Match[str]], set[str]]
_DIGIT = frozenset({"<digit>"})  # the rule starts at a number


@dataclass(frozen=True)
class _DateRule:
    """An anchored pattern tried only where a word that can start it stands."""

    pattern: re.Pattern[str]
    keys: _Keyer
    starts_with: frozenset[str]


def _rule(pattern: str, keys: _Keyer, starts_with: frozenset[str] | set[str]) -> _DateRule:
    return _DateRule(re.compile(pattern, re.IGNORECASE), keys, frozenset(starts_with))


# The first word of every _RELATIVE phrase: the rule is tried only there.
_RELATIVE_STARTS = {
    "day", "après", "apres", "übermorgen", "pasado", "tomorrow", "demain", "morgen", "mañana",
    "tonight", "this", "later", "by", "end", "eod", "ce", "noch", "heute", "esta", "hoy", "the",
    "cette", "fin", "diese", "ende", "am", "este", "next", "la", "semaine", "nächste", "naechste",
    "nachste", "kommende", "le", "nächsten", "naechsten", "nachsten", "el",
}  # fmt: skip
_DATE_RULES: list[_DateRule] = [
    _rule(
        r"(?<![\d/.-])\d{4}-(\d{1,2})-(\d{1,2})(?![\d-])",
        lambda m: _day_month(int(m.group(2)), int(m.group(1))),
        _DIGIT,
    ),
    _rule(r"(?<![\d/])(\d{1,2})/(\d{1,2})(?:/\d{2,4})?(?![\d/])", _slashed, _DIGIT),
    _rule(
        r"(?<![\d.])(\d{1,2})\.(\d{1,2})\.\d{2,4}(?!\.?\d)",
        lambda m: _day_month(int(m.group(1)), int(m.group(2))),
        _DIGIT,
    ),
    _rule(
        # German writes "bis zum 3.12." without a year.
        r"(?:(?<=\bam )|(?<=\bzum )|(?<=\bvom )|(?<=\bab )|(?<=\bbis ))"
        r"(\d{1,2})\.(\d{1,2})\.(?!\d)",
        lambda m: _day_month(int(m.group(1)), int(m.group(2))),
        _DIGIT,
    ),
    _rule(
        rf"(\d{{1,2}})(?:st|nd|rd|th|er|\.|º)?\s+(?:de\s+|of\s+)?({_MONTH})\b",
        lambda m: _day_month(int(m.group(1)), _named_month(m.group(2))),
        _DIGIT,
    ),
    _rule(
        rf"({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?![:\d])",
        lambda m: _day_month(int(m.group(2)), _named_month(m.group(1))),
        set(_MONTHS),
    ),
    _rule(
        rf"({_alternation(list(_WEEKDAYS))})\b",
        lambda m: {f"wd:{_WEEKDAYS[m.group(1).lower()]}"},
        set(_WEEKDAYS),
    ),
    _rule(
        "|".join(f"(?P<{key}>(?:{pattern})\\b)" for key, pattern in _RELATIVE.items()),
        lambda m: {f"rel:{m.lastgroup}"},
        _RELATIVE_STARTS,
    ),
    _rule(
        rf"(?P<low>{_COUNT})(?:\s?(?:-|–|to|or|à|ou|bis|oder|a|y|o)\s?(?P<high>\d+))?"
        rf"[\s-]*(?:{_UNIT})\b",
        _duration,
        _DIGIT
        | {w.split()[0].split("-")[0] for w in _NUMBER_WORDS}
        | {"a", "quelques", "ein", "einige", "unos", "unas"},
    ),
    _rule(
        r"(?:within|in|under|dans|sous|en|innerhalb|binnen|dentro\s+de)\s+"
        rf"(?:an?|one|une?|einer?|einem|una?)\s+(?:{_UNIT})\b",
        lambda m: {f"dur:{_unit_factor(m)[1]:g}"},
        {"within", "in", "under", "dans", "sous", "en", "innerhalb", "binnen", "dentro"},
    ),
    _rule(
        r"(\d{1,2})(?::(\d{2}))?\s?([ap])\.?m\.?(?!\w)",
        lambda m: _time(int(m.group(1)), int(m.group(2) or 0), m.group(3)),
        _DIGIT,
    ),
    _rule(
        r"(?<![\d:])(\d{1,2})(?::(\d{2})|h(\d{2})|(?:[:.](\d{2}))?\s?uhr\b)(?![\d:])",
        lambda m: _time(int(m.group(1)), int(m.group(2) or m.group(3) or m.group(4) or 0)),
        _DIGIT,
    ),
]
_RULES_BY_WORD: dict[str, list[_DateRule]] = {}
for _date_rule in _DATE_RULES:
    for _word in _date_rule.starts_with:
        _RULES_BY_WORD.setdefault(_word, []).append(_date_rule)
# Where several rules can start, one match of them all says whether any does: a
# number is most often an order number or an amount, which no rule reads.
_ANY_RULE_BY_WORD: dict[str, re.Pattern[str]] = {
    word: re.compile("|".join(f"(?:{r.pattern.pattern})" for r in rules), re.IGNORECASE)
    for word, rules in _RULES_BY_WORD.items()
    if len(rules) > 1
}


def _trigger_words(text: str) -> list[tuple[int, str]]:
    """(start, trigger) of each word that can start a rule: lower case, "<digit>" for a number."""
    # Each distinct word is looked up once, and the words come from C loops
    # (``word_runs``): a step per word in Python was most of the cost.
    runs, starts, ascii_only = word_runs(text)
    # A digit has no case: lower-casing keeps numbers numbers.
    words = runs if ascii_only else [word.lower() for word in runs]
    triggers = {}
    for word in set(words):
        trigger = "<digit>" if word[0].isdigit() else word
        if trigger in _RULES_BY_WORD:
            triggers[word] = trigger
    return [(starts[i], triggers[word]) for i, word in enumerate(words) if word in triggers]


def dates_in(text: str) -> list[DateMention]:
    """Dates, deadlines, durations and times, in order, without overlaps."""
    # Scanning every position with a dozen word alternations costs milliseconds;
    # trying each rule only where a word that can start it stands costs
    # microseconds, and this runs on every draft.
    candidates: list[tuple[int, int, frozenset[str]]] = []
    for start, trigger in _trigger_words(text):
        any_rule = _ANY_RULE_BY_WORD.get(trigger)
        if any_rule is not None and any_rule.match(text, start) is None:
            continue
        for rule in _RULES_BY_WORD[trigger]:
            match = rule.pattern.match(text, start)
            if match and (found := rule.keys(match)):
                candidates.append((match.start(), match.end(), frozenset(found)))
    # Earliest first, longest first at the same start; later overlaps lose.
    candidates.sort(key=lambda c: (c[0], -(c[1] - c[0])))
    mentions: list[DateMention] = []
    last_end = -1
    for start, end, keys in candidates:
        if start < last_end:
            continue
        lead = _LEAD_IN.search(text, max(0, start - 20), start)
        shown_from = lead.start() if lead else start
        mentions.append(DateMention(text[shown_from:end].strip(), keys, (shown_from, end)))
        last_end = end
    return mentions

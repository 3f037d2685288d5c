"""Personal data out of text before it leaves for the LLM, and out of every log line.

``redact`` replaces each piece of personal data with a placeholder naming
its kind (``found`` counts them by kind):

* ``[email]``: plain or spelled out, "jane at example dot com" (``pii.contact``)
* ``[phone]``: international or in a national form (``pii.contact``)
* ``[card]``: Luhn-valid card numbers (``pii.payment``)
* ``[expiry]``, ``[cvv]``: a card's expiry date and security code, next to it
  or named (``pii.payment``)
* ``[iban]``: checksum-valid IBANs (``pii.payment``)
* ``[national_id]``: SSN, NINO, NIR, Steuer-ID, DNI/NIE, codice fiscale, named
  passport numbers (``pii.identity``)
* ``[birthdate]``: a date next to "DOB", "born on", "né le"… (``pii.identity``)
* ``[address]``: house number and street, postcode lines (``pii.address``)
* ``[password]``, ``[code]``: passwords and PINs, one-time codes given in
  text (``pii.credentials``)

Placeholders are final: nothing is ever put back into a draft.  Order
numbers, amounts, times and dates that are not birth dates stay, because the
guardrails and the draft need them ("order GB-20931", "$49.99", "delivered on
March 3").

Linear time, and why Python's ``re`` rather than RE2.  This runs on every
customer message before the Slack ack, again per job, and on every log line,
so its cost must grow linearly with the text.  The old e-mail pattern let a
candidate start at every letter of "a%a%a%…" and rescan the rest of the run
each time: 80 KB took 6 s.  Every pattern in ``app.domain.pii`` is now written
so no run of text is read more than a bounded number of times:

* a candidate starts only where a run of its characters starts (a negative
  lookbehind of the same class), and the run is read with a possessive or
  bounded quantifier, so no suffix of a run is rescanned;
* alternatives inside a repetition cannot match the same text two ways;
* finders led by a keyword (passwords, birth dates, expiry, codes) read a
  bounded window after each keyword.

``google-re2`` installs and would give the guarantee by construction, but it
has no lookaround, which these patterns use to anchor candidates on run
boundaries and to keep amounts, dates and times out; ``phonenumbers`` and
``python-stdnum`` use Python's ``re`` anyway; and its binding re-encodes the
text on each call, three times slower than ``re`` on an ordinary message.
``tests/domain/test_hostile_input.py`` holds every finder to a time bound on
40,000 pathological characters, and callers cap text length first
(``app.domain.limits``).

Which span wins: every finder reads the original text; in a fixed order of
trust (``_FINDERS``) a span is kept unless it overlaps one already kept, so
"4111 1111 1111 1111" is a card, not a phone, and an IBAN's digits are not a
card.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from app.domain.pii import Span
from app.domain.pii.address import addresses
from app.domain.pii.contact import emails, phones
from app.domain.pii.credentials import passwords_and_codes
from app.domain.pii.identity import birth_dates, national_ids
from app.domain.pii.payment import card_details, cards, ibans

__all__ = ["KINDS", "Redaction", "Span", "personal_data", "redact", "redact_mapping"]

T = TypeVar("T")

KINDS: tuple[str, ...] = (
    "email", "phone", "card", "expiry", "cvv", "iban", "national_id", "birthdate", "address",
    "password", "code",
)  # fmt: skip


@dataclass(frozen=True)
class Redaction:
    text: str
    found: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.found)


class _Claims:
    """Which characters a kept span already covers; overlap checks cost the span's length."""

    def __init__(self, size: int) -> None:
        self._taken = bytearray(size)
        self.spans: list[Span] = []

    def offer(self, spans: Iterable[Span]) -> None:
        for span in spans:
            if span.end > span.start and self._taken.find(1, span.start, span.end) < 0:
                self._taken[span.start : span.end] = b"\x01" * (span.end - span.start)
                self.spans.append(span)


_Finder = Callable[[str, _Claims], Iterable[Span]]

# Most trusted first: a checksum-validated or keyword-named item beats a phone
# shape over the same digits.
_FINDERS: tuple[tuple[_Finder, bool], ...] = (
    # (finder, needs a digit in the text)
    (lambda text, _: emails(text), False),
    (lambda text, _: ibans(text), True),
    (lambda text, _: cards(text), True),
    (
        lambda text, claims: card_details(text, [s.end for s in claims.spans if s.kind == "card"]),
        True,
    ),
    (lambda text, _: national_ids(text), True),
    (lambda text, _: passwords_and_codes(text), False),
    (lambda text, _: birth_dates(text), True),
    (lambda text, _: addresses(text), True),
    (lambda text, _: phones(text), True),
)


def personal_data(text: str) -> list[Span]:
    """Every piece of personal data in ``text``, in reading order, without overlaps."""
    has_digit = any(map(str.isdigit, text))
    claims = _Claims(len(text))
    for finder, needs_digit in _FINDERS:
        if has_digit or not needs_digit:
            claims.offer(finder(text, claims))
    return sorted(claims.spans)


def redact(text: str) -> Redaction:
    """Replace the personal data in ``text`` with ``[kind]`` placeholders."""
    spans = personal_data(text)
    if not spans:
        return Redaction(text)
    pieces: list[str] = []
    last = 0
    for start, end, kind in spans:
        pieces.append(text[last:start])
        pieces.append(f"[{kind}]")
        last = end
    pieces.append(text[last:])
    return Redaction("".join(pieces), dict(Counter(span.kind for span in spans)))


def redact_mapping(obj: T) -> T:
    """Redact every string inside dicts, lists and tuples; keys and other values stay.

    It returns a new structure and leaves the caller's objects alone.
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

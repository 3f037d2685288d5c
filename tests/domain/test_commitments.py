"""Commitments found in realistic sent replies, resolved in the customer's time zone.

"Now" is fixed: Wednesday 2 December 2026, 09:00 UTC.  A day without a time
is due at 17:00 local time that day; a duration is due that long after now.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.domain.commitments import find_commitments

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)  # a Wednesday


def due(text: str, tz: str = "UTC") -> list[tuple[str, datetime]]:
    return [(c.phrase, c.due_at) for c in find_commitments(text, now=NOW, tz=tz)]


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(("reply", "expected"), [
    ("Hi Dana, I'm so sorry about the crushed parcel. A replacement ships today and "
     "I'll confirm the tracking number by Friday.", [("today", utc(2, 17)), ("by Friday", utc(4, 17))]),
    ("Thanks for your patience. Our billing team will review the double charge and "
     "get back to you within 48 hours.", [("within 48 hours", utc(4, 9))]),
    ("I'll check with the warehouse and update you tomorrow.", [("tomorrow", utc(3, 17))]),
    ("You will receive the refund within 2 business days.", [("within 2 business days", utc(4, 9))]),
    ("We'll call you tomorrow at 3pm to sort this out.", [("tomorrow at 3pm", utc(3, 15))]),
    ("The fix will be live by the end of the week.", [("by the end of the week", utc(4, 17))]),
    ("Expect the voucher no later than December 10.", [("no later than December 10", utc(10, 17))]),
    ("Nous vous rembourserons d'ici vendredi et je reviens vers vous sous 48 heures.",
     [("sous 48 heures", utc(4, 9)), ("d'ici vendredi", utc(4, 17))]),
    ("Je vous recontacte demain avec le numéro de suivi.", [("demain", utc(3, 17))]),
    ("Wir melden uns bis Freitag. Innerhalb von 24 Stunden erhalten Sie eine Gutschrift.",
     [("Innerhalb von 24 Stunden", utc(3, 9)), ("bis Freitag", utc(4, 17))]),
    ("Guten Morgen! Ich melde mich morgen bei Ihnen.", [("morgen", utc(3, 17))]),
    ("Le escribiremos antes del viernes; recibirá el reembolso en 3 días.",
     [("antes del viernes", utc(4, 17)), ("en 3 días", utc(5, 9))]),
    ("Esta mañana revisé su pedido. Le contactaré mañana.", [("mañana", utc(3, 17))]),
])
def test_promises_in_four_languages_are_found_and_resolved(
    reply: str, expected: list[tuple[str, datetime]]
) -> None:
    assert due(reply) == expected


@pytest.mark.parametrize("reply", [
    "You ordered on Friday and the parcel arrived crushed; I'm so sorry.",
    "I have 2 orders here and we now know what happened.",
    "Guten Morgen, danke für Ihre Nachricht.",
    "Esta mañana revisé su pedido y todo está en orden.",
    "Thank you for writing in, we're here to help.",
])
def test_replies_without_a_promise_have_no_commitment(reply: str) -> None:
    assert due(reply) == []


def test_the_day_is_the_customers_day_in_their_time_zone() -> None:
    # 09:00 UTC is already 18:00 in Tokyo: "tomorrow" there is Thursday 17:00 JST = 08:00 UTC.
    assert due("I'll update you tomorrow.", "Asia/Tokyo") == [("tomorrow", utc(3, 8))]
    # In Los Angeles it is still 01:00 on Wednesday: Friday 17:00 PST = Saturday 01:00 UTC.
    assert due("Done by Friday.", "America/Los_Angeles") == [("by Friday", utc(5, 1))]
    assert due("Je reviens vers vous demain.", "Europe/Paris") == [("demain", utc(3, 16))]


def test_a_duration_does_not_depend_on_the_time_zone() -> None:
    for tz in ("UTC", "Europe/Berlin", "America/New_York"):
        assert due("Sie hören innerhalb von 48 Stunden von uns.", tz) == [
            ("innerhalb von 48 Stunden", utc(4, 9))]


def test_a_promise_already_past_today_is_due_now() -> None:
    late = datetime(2026, 12, 2, 20, 0, tzinfo=UTC)
    [commitment] = find_commitments("You'll have it today.", now=late, tz="UTC")
    assert commitment.due_at == late


def test_an_unknown_time_zone_says_what_to_write() -> None:
    with pytest.raises(ValueError, match="IANA name such as Europe/Paris"):
        find_commitments("by Friday", now=NOW, tz="Paris")


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        find_commitments("by Friday", now=datetime(2026, 12, 2, 9), tz="UTC")

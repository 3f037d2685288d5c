"""Stories of personal data leaving customer text before it reaches the model or a log line."""

from __future__ import annotations

import time

import pytest

from app.domain.redact import redact, redact_mapping
from tests.factories import load_complaint_fixture


def test_a_us_customer_message_loses_contact_and_card_but_keeps_the_order_facts() -> None:
    text = (
        "Order #48213 placed 2026-11-03 at 14:30 for $1,299.00 never came. Call me at "
        "(555) 123-4567 or write to jane.doe+orders@example.com. I paid with "
        "4111 1111 1111 1111 and I want it back."
    )

    result = redact(text)

    assert result.text == (
        "Order #48213 placed 2026-11-03 at 14:30 for $1,299.00 never came. Call me at "
        "[phone] or write to [email]. I paid with [card] and I want it back."
    )
    assert result.found == {"phone": 1, "email": 1, "card": 1}
    assert result.changed


@pytest.mark.parametrize(
    ("written", "country"),
    [
        ("+44 20 7946 0958", "UK international"),
        ("+33 6 12 34 56 78", "French mobile, international"),
        ("06 12 34 56 78", "French mobile, national"),
        ("06.12.34.56.78", "French, dotted"),
        ("+49 (0)30 1234567", "German with trunk zero"),
        ("030 1234567", "German landline"),
        ("030/1234567", "German, slash"),
        ("0151 12345678", "German mobile"),
        ("0049 30 1234567", "German, 00 prefix"),
        ("(555) 123-4567", "US with area code"),
        ("555-123-4567", "US dashed"),
        ("1-800-555-0199", "US toll free"),
        ("+1-555-123-4567", "US international"),
        ("+4915112345678", "compact international"),
    ],
)
def test_phone_numbers_in_many_national_formats_are_redacted(written: str, country: str) -> None:
    result = redact(f"Vous pouvez me joindre au {written}, merci.")

    assert result.text == "Vous pouvez me joindre au [phone], merci.", country
    assert result.found == {"phone": 1}


@pytest.mark.parametrize(
    "harmless",
    [
        "my order #48213 is late",
        "delivered on 2026-11-03 instead of 2026-11-01",
        "charged $1,299.00 and then 1 299,00 € again",
        "the courier came at 14:30 and left at 15:05",
        "Bestellung vom 03.11.2026, Rechnung 11/03/2026",
        "we had to pay 12 500 000 EUR in fees",
        "the router at 192.168.1.10 keeps rebooting",
        "ticket ORD-2026-1103-4471 is still open",
        "order id 1234567890123456 and reference 4929 1234 5678 9012",
        "tickets 12 14 16 18 20 are left",
        "order number 4155551234",
        "3 items, 2 boxes, 45 minutes late",
    ],
)
def test_order_numbers_dates_amounts_and_times_survive(harmless: str) -> None:
    result = redact(harmless)

    assert result.text == harmless
    assert result.found == {}


def test_a_bare_run_of_digits_counts_as_a_phone_only_when_someone_says_it_is_one() -> None:
    result = redact("Tel: 0612345678. Phone number is 4155551234. Order number 4155551234.")

    assert result.text == "Tel: [phone]. Phone number is [phone]. Order number 4155551234."


@pytest.mark.parametrize(
    "card",
    ["4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111", "5500 0055 5555 5559"],
)
def test_card_numbers_with_spaces_or_dashes_are_redacted(card: str) -> None:
    assert redact(f"card {card} was charged twice").text == "card [card] was charged twice"


def test_a_sixteen_digit_order_id_that_fails_luhn_is_not_a_card() -> None:
    result = redact("My order 7720 1833 5604 1287 never shipped, card 4111 1111 1111 1111")

    assert result.text == "My order 7720 1833 5604 1287 never shipped, card [card]"
    assert result.found == {"card": 1}


def test_a_card_followed_by_an_unrelated_number_is_still_caught() -> None:
    assert redact("card 4111 1111 1111 1111 2 items").text == "card [card] 2 items"


def test_ibans_are_redacted_spaced_or_compact_and_only_with_a_valid_checksum() -> None:
    text = (
        "Please refund to DE89 3704 0044 0532 0130 00 OK? Or GB82WEST12345698765432. "
        "Not DE89 3704 0044 0532 0130 01 which has a typo."
    )

    result = redact(text)

    assert result.text == (
        "Please refund to [iban] OK? Or [iban]. Not DE89 3704 0044 0532 0130 01 which has a typo."
    )
    assert result.found == {"iban": 2}


def test_emails_inside_slack_links_are_redacted_on_both_sides() -> None:
    result = redact(
        "write to <mailto:ana.lopez@correo.es|ana.lopez@correo.es> or <tel:+34600111222|+34 600 111 222>"
    )

    assert result.text == "write to <mailto:[email]|[email]> or <tel:[phone]|[phone]>"
    assert result.found == {"email": 2, "phone": 2}


def test_text_without_personal_data_comes_back_unchanged() -> None:
    text = "The parcel is late and the box was crushed."

    result = redact(text)

    assert result.text is text
    assert not result.changed


def test_a_log_event_is_redacted_everywhere_without_touching_the_callers_dict() -> None:
    event = {
        "event": "draft.created",
        "customer": {"text": "mail me at bob@example.org", "phones": ["+44 20 7946 0958"]},
        "pair": ("4111 1111 1111 1111", 3),
        "latency_ms": 1234.5,
        "ok": True,
    }

    cleaned = redact_mapping(event)

    assert cleaned == {
        "event": "draft.created",
        "customer": {"text": "mail me at [email]", "phones": ["[phone]"]},
        "pair": ("[card]", 3),
        "latency_ms": 1234.5,
        "ok": True,
    }
    assert event["customer"] == {
        "text": "mail me at bob@example.org",
        "phones": ["+44 20 7946 0958"],
    }


def test_the_pii_fixture_loses_exactly_what_it_declares() -> None:
    fixture = load_complaint_fixture("subscription_pii")

    result = redact(fixture["text"])

    assert result.found == fixture["expect"]["pii"]
    assert "4929 1234 5678 9012" in result.text
    for leaked in ("4111", "7946", "jenny.holt@"):
        assert leaked not in result.text


def test_redacting_every_log_line_stays_cheap() -> None:
    lines = [
        f"event=draft.posted draft_id={i} channel=C0123 user=U0456 latency_ms={i * 3.7:.1f}"
        for i in range(2000)
    ] + ["customer wrote: call me on +44 20 7946 0958 about order #48213"] * 500

    started = time.perf_counter()
    redacted = [redact(line).text for line in lines]
    elapsed = time.perf_counter() - started

    assert redacted[-1] == "customer wrote: call me on [phone] about order #48213"
    assert elapsed < 1.0, f"2,500 lines took {elapsed:.2f}s"

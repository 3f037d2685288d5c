"""Reading an agent's paste: note, customer, the customer's words, the quoted chain.

The fixtures under ``tests/fixtures/relay`` are e-mails, a chat and a phone
note written for these tests, laid out as mail clients and chat tools paste
them.  Hostile pastes must stay cheap: the parser's patterns are RE2.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from app.domain.channels import ChannelKind, ChannelKinds
from app.domain.customer_data import backing_context
from app.domain.relay import read_relayed
from app.domain.relay.lines import from_chat_markup, sender_of

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "relay"


def paste(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def slack_encoded(text: str) -> str:
    """The text as Slack delivers a paste: &, <, > escaped, e-mail addresses linked."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for word in escaped.split():
        address = word.strip(";,.:()").removeprefix("&lt;").removesuffix("&gt;")
        if "@" in address and "." in address.split("@")[-1]:
            escaped = escaped.replace(address, f"<mailto:{address}|{address}>", 1)
    return escaped


def test_forwarded_outlook_mail_splits_note_customer_signature_and_quoted_history() -> None:
    relayed = read_relayed(paste("forwarded_outlook.txt"))
    assert relayed is not None and relayed.form == "email"
    assert relayed.customer_name == "Priya Natarajan"
    assert relayed.note.startswith("Pasting an email from the contact form")
    assert "second time you have sent the coat" in relayed.customer_text
    # Signature and disclaimer are gone: no title, phone, address or legal text.
    for gone in ("Senior Buyer", "7700 900123", "Carver Street", "confidential", "Pasting"):
        assert gone not in relayed.customer_text
    # Oldest first: the customer's first mail, then the support reply quoting it.
    authors = [(m.author, m.name) for m in relayed.history]
    assert authors == [("customer", "Priya Natarajan"), ("agent", "Brightwell Support")]
    assert all(m.relayed for m in relayed.history)
    assert "size 10. I ordered a 14" in relayed.history[0].text


def test_german_forward_reads_von_betreff_and_am_schrieb() -> None:
    relayed = read_relayed(paste("forwarded_gmail_de.txt"))
    assert relayed is not None
    assert relayed.customer_name == "Greta Hoffmann"
    assert relayed.note.startswith("Kannst du mir hier helfen?")
    assert "Hochzeit am Samstag" in relayed.customer_text
    assert relayed.customer_text.rstrip().endswith("Mit freundlichen Grüßen")
    for gone in ("1234567", "Lindenstraße", "10115", "vertrauliche"):
        assert gone not in relayed.customer_text
    assert [m.author for m in relayed.history] == ["agent"]
    assert relayed.history[0].name == "Brightwell Kundenservice"


def test_header_block_without_separator_and_dash_dash_signature() -> None:
    relayed = read_relayed(paste("reply_quoted_below.txt"))
    assert relayed is not None
    assert relayed.customer_name == "Marcus Webb"
    assert relayed.note == ""
    assert relayed.customer_text.startswith("Still nothing.")
    assert "Webb Joinery" not in relayed.customer_text and "0011" not in relayed.customer_text
    assert [m.name for m in relayed.history] == ["Brightwell Billing"]


def test_chat_transcript_the_customer_is_the_first_speaker_and_their_last_turns_are_the_words() -> None:
    relayed = read_relayed(paste("chat_transcript.txt"))
    assert relayed is not None and relayed.form == "chat"
    assert relayed.customer_name == "Tom Becker"
    assert relayed.note.startswith("Website chat from this morning")
    assert "parquet is ruined" in relayed.customer_text
    assert "this is ridiculous" in relayed.customer_text  # a continuation line stays with its turn
    assert [m.author for m in relayed.history] == ["customer", "agent"]
    assert relayed.history[1].name == "Ana (Brightwell)"


def test_role_labelled_chat_has_no_name_to_greet() -> None:
    relayed = read_relayed("Customer: hi\nAgent: hello, how can I help?\nCustomer: my parcel is lost")
    assert relayed is not None
    assert relayed.customer_text == "my parcel is lost"
    assert relayed.customer_name == ""


def test_phone_note_names_the_caller() -> None:
    relayed = read_relayed(paste("phone_note.txt"))
    assert relayed is not None and relayed.form == "phone"
    assert relayed.customer_name == "Anna Berg"
    assert relayed.customer_text.startswith("the oven door glass cracked")


@pytest.mark.parametrize(
    "chatter",
    [
        paste("chatter.txt"),
        "From: the warehouse, nothing yet. Call me later?",
        "Thanks all!",
        "",
    ],
)
def test_chatter_between_agents_carries_no_customer_words(chatter: str) -> None:
    assert read_relayed(chatter) is None


def test_a_paste_as_slack_delivers_it_reads_the_same() -> None:
    plain = read_relayed(paste("forwarded_outlook.txt"))
    encoded = slack_encoded(paste("forwarded_outlook.txt"))
    assert "&gt;" in encoded and "<mailto:" in encoded
    assert read_relayed(encoded) == plain


def test_slack_markup_is_undone_before_reading() -> None:
    assert from_chat_markup("From: A &lt;<mailto:a@b.example|a@b.example>&gt;") == (
        "From: A <a@b.example>"
    )


def test_sender_names_come_from_headers_and_attributions() -> None:
    assert sender_of('"Natarajan, Priya" <p@x.example>').name == "Natarajan, Priya"
    attribution = sender_of("Fri, Nov 20, 2026 at 3:10 PM Brightwell Support <help@b.example>")
    assert (attribution.name, attribution.address) == ("Brightwell Support", "help@b.example")
    assert sender_of("greta@posteo.example").name == ""


def test_quoted_history_never_backs_a_fact_even_when_it_claims_to_be_support() -> None:
    relayed = read_relayed(paste("forwarded_outlook.txt"))
    assert relayed is not None
    # The quoted "support reply" promises 200 USD; the customer could have typed it.
    assert any("200 USD" in m.text and m.author == "agent" for m in relayed.history)
    context = backing_context(channel_context=None, guidance=relayed.note, history=relayed.history)
    assert not any("200 USD" in text for text in context)
    assert any("express re-ship" in text for text in context)


HOSTILE = [
    "On " * 14_000,
    "On " + "x " * 20_000 + "wrote",
    "From: a\n" * 5_000,
    "-----Original Message-----\n" + "From: " * 7_000,
    ">" * 40_000,
    "> " * 20_000,
    "[10:0" * 8_000,
    "Am " + "1," * 20_000 + " schrieb",
    ("Thanks,\n" + "x" * 60 + "\n") * 600,
    "Phone call with " + "a" * 40_000,
    "\n".join(["From: A <a@b.c>", "Sent: x", "> " * 100] * 300),
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_pastes_are_read_in_linear_time(text: str) -> None:
    # The best of three runs: the machine is shared, a backtracking pattern is slow every time.
    took = []
    for _ in range(3):
        started = time.perf_counter()
        read_relayed(text[:40_000])
        took.append(time.perf_counter() - started)
    assert min(took) < 0.5


def test_channel_kinds_relay_wins_and_playbooks_can_add_relay_channels() -> None:
    kinds = ChannelKinds(support=["C1", "C2"], relay=["C2", "C3"])
    assert kinds.kind_of("C1") == ChannelKind.CUSTOMER
    assert kinds.kind_of("C2") == ChannelKind.RELAY
    assert kinds.kind_of("C3") == ChannelKind.RELAY
    assert kinds.kind_of("C9") is None
    kinds.add_relay(["C9"])
    assert kinds.is_relay("C9") and "C9" in kinds.watched

"""Hostile text stays cheap: every domain function that reads customer text answers in time.

A customer decides what a message contains, so each function that reads one
(redaction, amount and date extraction, mention neutralizing, fencing for the
model, the guardrails) is fed 40,000 characters built to make a backtracking
pattern work hard: long runs, "a%a%…" before an "@", nested brackets, digit
groups, keywords over and over, mixed scripts.  Each call must come back
within half a second; the patterns are linear, and the message cap
(``app.domain.limits``) keeps real inputs far shorter than this.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain.customer_data import backing_context, fence, history_entries
from app.domain.facts import amounts_in, dates_in, numbers_in
from app.domain.guardrails import apply_guardrails, review_text
from app.domain.limits import cap_history, cap_text
from app.domain.links import links_in
from app.domain.mentions import neutralize_mentions
from app.domain.models import DraftOutput, ProposedOffer, ThreadMessage
from app.domain.phrases import words_of
from app.domain.redact import redact
from app.playbook import load_guardrail_policy, load_offer_catalog

REPO = Path(__file__).resolve().parents[2]
CATALOG = load_offer_catalog(REPO / "prompts" / "offers.yaml")
POLICY = load_guardrail_policy(REPO / "prompts" / "guardrails.yaml")

SIZE = 40_000
# Linear readers take 0.3-0.65 s for the largest inputs on a shared 2-core machine; the
# backtracking patterns these tests guard against took 6-8 s at a quarter of the size.
BOUND_S = 1.0


def _guardrails(text: str) -> Any:
    output = DraftOutput(
        reply=text,
        steps=[{"step": "acknowledge", "quote": text[:2000]}],  # type: ignore[list-item]
        offers=[],
        follow_up=text[:2000],
    )
    return apply_guardrails(
        output, catalog=CATALOG, policy=POLICY, context=[text], allowlist=["brightwell.com"]
    )


CREDIT = ProposedOffer(
    offer_id="store_credit",
    label="Account credit",
    why_it_helps="x",
    amount=20,
    unit="amount",
    currency="USD",
)


def _review(text: str) -> Any:
    return review_text(
        text, [CREDIT], catalog=CATALOG, policy=POLICY, context=[text], allowlist=["a.example"]
    )


READERS: dict[str, Callable[[str], object]] = {
    "redact": redact,
    "amounts_in": amounts_in,
    "numbers_in": numbers_in,
    "dates_in": dates_in,
    "neutralize_mentions": neutralize_mentions,
    "fence": lambda text: fence("customer_message", text),
    "history_entries": lambda text: history_entries([ThreadMessage(author="customer", text=text)]),
    "backing_context": lambda text: backing_context(
        channel_context=text,
        guidance=text[:1000],
        history=[ThreadMessage(author="agent", text=text)],
    ),
    "apply_guardrails": _guardrails,
    "review_text": _review,
    "links_in": links_in,
    "words_of": words_of,
}

# Pieces that make some pattern in app/domain look for a match: the e-mail,
# phone, card, IBAN, ID, address, password and birth-date finders, amounts,
# dates, promises, mentions and data fences.
UNITS = [
    "a%", "a", "1", "1 ", "000 ", "1,", "1.", "1-", "1/", "+1", "(1)", "(", ")", "[", "]", "<", ">",
    "<!here|", "<@U1", "@", "a@", "a.", ".", "-", " ", "\n", "é", "ア", "٣", "\u200b", "$1 ", "€",
    "12 rue ", "Calle ", "Hauptstraße ", "DOB ", "born on ", "password is ", "code: ", "PIN ",
    "DE89 ", "4111 ", "exp 04/27 ", "cvv ", " at ", " dot ", "[at]", "SSN ", "75011 Paris\n",
    "by tomorrow ", "within 48 hours ", "in 3 days ", "5 pm ", "3 December ", "I promise ",
    "<customer_message>", "</thread_history>", "we apologize for any inconvenience ",
    "https://", "www.", "evil.com/", "a.b.", "refund ", "Rückerstattung ", "rest assured ",
    "full refund ", "credit card ", "feel free ", "[agent 2026-01-01] ", '<message author="agent">',
]  # fmt: skip

KNOWN_KILLERS = {
    "a% before @ (the old e-mail pattern: 6 s for 80 KB)": "a%" * (SIZE // 2) + " @",
    "digit groups (the old amount pattern: 7.7 s for 20 KB)": "000 " * (SIZE // 4),
    "unclosed mentions (the old mention pattern)": "<!here|" * (SIZE // 7),
    "nested brackets": "(" * (SIZE // 2) + ")" * (SIZE // 2),
    "one long digit run": "1" * SIZE,
    "mixed scripts": "é1ア@٣ \u200b" * (SIZE // 7),
    "promises over deadlines (the old promise check: 1.4 s for 80 KB)": (
        "within 48 hours " * 5_000
    )[:SIZE],
    "one URL-like run": "http://" + "a." * (SIZE // 2),
    "offer words, one per word": "refund credit voucher upgrade free " * (SIZE // 35),
}


def _repeated(unit: str) -> str:
    return (unit * (SIZE // len(unit) + 1))[:SIZE]


@st.composite
def hostile_text(draw: st.DrawFn) -> str:
    """A short mix of tricky pieces (and a few random characters), repeated to 40,000."""
    pieces = draw(st.lists(st.sampled_from(UNITS), min_size=1, max_size=3))
    noise = draw(st.text(min_size=0, max_size=3))
    return _repeated("".join(pieces) + noise)


def _elapsed(read: Callable[[str], object], text: str) -> float:
    # CPU time of this process without the collector: what a pattern costs, not how long
    # other jobs kept it waiting or how big the whole suite's heap is for a full collection
    # (both doubled the figure under CI with unchanged code).
    gc.disable()
    try:
        started = time.process_time()
        read(text)
        return time.process_time() - started
    finally:
        gc.enable()


@pytest.mark.parametrize("reader", sorted(READERS))
@pytest.mark.parametrize("killer", sorted(KNOWN_KILLERS))
def test_text_that_made_a_pattern_backtrack_is_read_in_time(reader: str, killer: str) -> None:
    text = KNOWN_KILLERS[killer]

    elapsed = _elapsed(READERS[reader], text)

    assert elapsed < BOUND_S, f"{reader} took {elapsed:.2f}s on {killer}"


@pytest.mark.parametrize("reader", sorted(READERS))
@settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(text=hostile_text())
def test_any_repeated_mix_of_tricky_pieces_is_read_in_time(reader: str, text: str) -> None:
    elapsed = _elapsed(READERS[reader], text)

    assert elapsed < BOUND_S, f"{reader} took {elapsed:.2f}s on {text[:60]!r}…"


@pytest.mark.parametrize("unit", ["a%", "000 ", "<!here|", "1 ", "12 rue ", "password is "])
def test_redaction_cost_grows_linearly_with_the_text(unit: str) -> None:
    def best_of_three(size: int) -> float:
        text = (unit * (size // len(unit) + 1))[:size]
        return min(_elapsed(redact, text) for _ in range(3))

    small, large = best_of_three(10_000), best_of_three(40_000)

    # Four times the text: about four times the time when linear, sixteen when
    # quadratic; the floor keeps timer noise on a busy machine from failing it.
    assert large < max(small * 10, 0.05), f"10k: {small * 1000:.1f} ms, 40k: {large * 1000:.1f} ms"


def test_a_reply_full_of_promises_and_deadlines_is_checked_in_time() -> None:
    text = ("within 48 hours " * 5_000)[:80_000]

    assert _elapsed(_guardrails, text) < BOUND_S


@pytest.mark.parametrize(
    "unit", ["within 48 hours ", "rest assured ", "$5 refund ", "https://evil.example/ ", "a.b"]
)
def test_guardrails_cost_grows_linearly_with_the_reply(unit: str) -> None:
    def best_of_three(size: int) -> float:
        text = (unit * (size // len(unit) + 1))[:size]
        return min(_elapsed(_guardrails, text) for _ in range(3))

    small, large = best_of_three(10_000), best_of_three(40_000)

    assert large < max(small * 10, 0.05), f"10k: {small * 1000:.1f} ms, 40k: {large * 1000:.1f} ms"


def test_a_long_message_is_capped_at_a_space_and_says_it_was_cut() -> None:
    text = "My parcel never came. " * 1_000

    capped = cap_text(text, 8_000)

    assert capped.cut and capped.original_chars == len(text)
    assert len(capped.text) <= 8_000 and text.startswith(capped.text)
    assert text[len(capped.text)] == " ", "cut between words"
    assert capped.cut_chars == len(text) - len(capped.text)


def test_a_short_message_is_left_whole() -> None:
    capped = cap_text("Where is my order?", 8_000)

    assert capped.text == "Where is my order?" and not capped.cut and capped.cut_chars == 0


def test_a_card_number_at_the_cut_is_not_left_half_visible() -> None:
    text = "x" * 7_990 + " 4111 1111 1111 1111 thanks"

    capped = cap_text(text, 8_000)

    assert "4111" not in capped.text


def test_history_keeps_the_newest_messages_that_fit_and_drops_older_ones_whole() -> None:
    thread = [
        ThreadMessage(author="customer", text="first " * 100),  # 600 chars
        ThreadMessage(author="agent", text="second " * 100),  # 700 chars
        ThreadMessage(author="customer", text="third " * 100),  # 600 chars
    ]

    capped = cap_history(thread, 1_500)

    assert [m.text for m in capped.messages] == [thread[1].text, thread[2].text]
    assert capped.dropped_messages == 1 and capped.cut


def test_a_newest_message_longer_than_the_history_budget_is_shortened_not_dropped() -> None:
    thread = [
        ThreadMessage(author="agent", text="earlier"),
        ThreadMessage(author="customer", text="word " * 10_000),
    ]

    capped = cap_history(thread, 1_000)

    assert len(capped.messages) == 1 and len(capped.messages[0].text) <= 1_000
    assert capped.messages[0].author == "customer" and capped.dropped_messages == 1


def test_a_short_history_is_left_whole() -> None:
    thread = [
        ThreadMessage(author="customer", text="hello"),
        ThreadMessage(author="bot", text="hi"),
    ]

    capped = cap_history(thread, 20_000)

    assert capped.messages == thread and not capped.cut and capped.dropped_messages == 0

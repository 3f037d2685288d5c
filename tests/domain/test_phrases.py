"""Phrases found word by word, whatever the case, accents, punctuation or word endings."""

from __future__ import annotations

import re

from app.domain.phrases import PhraseMatcher, fold, words_of


def test_words_are_compared_without_case_or_accents() -> None:
    assert fold("Remboursé") == fold("REMBOURSE") == "rembourse"
    assert fold("Straße") == "strasse"


def test_a_phrase_is_found_across_punctuation_with_its_span() -> None:
    matcher = PhraseMatcher([("free express re-shipment", "reship"), ("bon d'achat", "voucher")])
    text = "A FREE express re–shipment, or a bon d’achat?"

    found = matcher.find(text)

    assert [(m.keys, text[m.span[0] : m.span[1]]) for m in found] == [
        (("reship",), "FREE express re–shipment"),
        (("voucher",), "bon d’achat"),
    ]


def test_a_starred_word_matches_every_word_it_starts() -> None:
    matcher = PhraseMatcher(
        [("erstatt*", "refund"), ("Ersatz*", "replacement"), ("full refund*", "full")]
    )

    found = matcher.contains_any("Die Erstattung, eine Ersatzkarte; full refunds. Ersa")

    assert found == {"refund", "replacement", "full"}
    assert matcher.contains_any("Ersa erstat") == set()


def test_overlapping_phrases_are_all_reported() -> None:
    matcher = PhraseMatcher([("refund", "word"), ("full refund", "offer")])

    assert [m.keys for m in matcher.find("a full refund")] == [("offer",), ("word",)]


def test_phrases_longer_than_the_limit_are_left_out() -> None:
    matcher = PhraseMatcher([("one two three", 1), ("one", 2)], max_words=2)

    assert matcher.contains_any("one two three") == {2}


def test_words_keep_their_place_in_ascii_and_accented_text() -> None:
    for text in ("  Hello, WORLD_1!", "Déjà vu: «Straße» 42", "", "?!"):
        words = words_of(text)

        expected = [(m.group(), m.start(), m.end()) for m in re.finditer(r"\w+", text)]
        assert [(text[s:e], s, e) for s, e in zip(words.starts, words.ends, strict=True)] == (
            expected
        )
        assert words.folded == [fold(w) for w, _, _ in expected]


def test_starred_words_of_different_lengths_after_the_same_word_are_all_found() -> None:
    matcher = PhraseMatcher(
        [("voll erstatt*", "short"), ("voll erstattung*", "long"), ("voll er*", "shortest")]
    )

    (found,) = matcher.find("voll Erstattungen")

    assert sorted(found.keys) == ["long", "short", "shortest"]

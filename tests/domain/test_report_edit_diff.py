"""What agents change: edit size, the model's text from the audit trail, phrase counts."""

from __future__ import annotations

from collections import Counter

from app.domain.edit_diff import edit_size, model_text, phrase_changes, top_phrases


def test_edit_size_counts_changed_characters_and_dissimilarity() -> None:
    untouched = edit_size("Sorry for the delay.", "Sorry for the delay.")
    assert (untouched.chars, untouched.ratio) == (0, 0.0)
    size = edit_size("Sorry for the delay.", "Sorry for the delay, Dana.")
    assert size.chars == 6  # ", Dana" inserted
    assert size.ratio == round(1 - 2 * 20 / (20 + 26), 4)
    assert edit_size("abc", "xyz").chars == 3 and edit_size("abc", "xyz").ratio == 1.0


def test_the_models_text_is_the_last_regenerate_or_the_first_edits_before() -> None:
    assert model_text("sent as drafted", []) == "sent as drafted"
    trail = [("edit", {"before": "model v1", "after": "agent v1"}),
             ("edit", {"before": "agent v1", "after": "agent v2"})]
    assert model_text("agent v2", trail) == "model v1"
    trail.append(("regenerate", {"before": "agent v2", "after": "model v2"}))
    trail.append(("edit", {"before": "model v2", "after": "agent v3"}))
    assert model_text("agent v3", trail) == "model v2"


def test_phrases_deleted_and_added_count_once_per_reply_and_ignore_moves() -> None:
    pairs = [
        ("We apologise for any inconvenience. Your refund is on its way.",
         "Your refund is on its way, Dana."),
        ("We apologise for any inconvenience caused. A new parcel ships today.",
         "Dana, a new parcel ships today. Sorry!"),
        ("Your parcel ships today. Thanks!", "Thanks! Your parcel ships today."),
    ]
    changes = phrase_changes(pairs)

    assert changes.drafts == 3
    assert changes.deleted["for any inconvenience"] == 2
    assert changes.added["dana"] == 2
    # Moving "Thanks!" to the front deletes and adds nothing.
    assert changes.deleted["thanks"] == 0 and changes.added["thanks"] == 0
    top = top_phrases(changes.deleted)
    assert top[0] == ("apologise for any", 2)
    assert ("for any", 2) not in top, "inside a longer phrase with the same count"


def test_top_phrases_needs_two_replies() -> None:
    assert top_phrases(Counter({"once": 1, "twice": 2})) == [("twice", 2)]

"""Stories of Slack mentions that must never page anyone from a draft or a quote."""

from __future__ import annotations

import pytest

from app.domain.mentions import WORD_JOINER, neutralize_mentions

WJ = WORD_JOINER


@pytest.mark.parametrize(
    ("written", "reads_as"),
    [
        ("<!here>", "@here"),
        ("<!channel>", "@channel"),
        ("<!everyone>", "@everyone"),
        ("<!here|@here>", "@here"),
        ("<!channel|channel>", "@channel"),
        ("<!subteam^S0123ABC|@support-leads>", "@support-leads"),
        ("<!subteam^S0123ABC>", "@S0123ABC"),
        ("<@U024BE7LH>", "@U024BE7LH"),
        ("<@W024BE7LH|jane>", "@jane"),
        ("@here", "@here"),
        ("@Channel", "@Channel"),
        ("@EVERYONE", "@EVERYONE"),
    ],
)
def test_each_mention_form_becomes_inert_but_still_reads_the_same(
    written: str, reads_as: str
) -> None:
    text, changed = neutralize_mentions(f"Customer wrote: {written} fix this now")

    assert changed == 1
    assert "<!" not in text and "<@" not in text
    assert f"@{WJ}" in text
    assert text.replace(WJ, "") == f"Customer wrote: {reads_as} fix this now"


def test_a_quoted_customer_message_with_several_mentions_is_fully_defused() -> None:
    quote = "<!channel> @here look at this! <@U123> and <!subteam^S9|@billing> did nothing"

    text, changed = neutralize_mentions(quote)

    assert changed == 4
    assert text == (f"@{WJ}channel @{WJ}here look at this! @{WJ}U123 and @{WJ}billing did nothing")


def test_neutralizing_twice_changes_nothing_the_second_time() -> None:
    once, first = neutralize_mentions("<!here> and @everyone and <@U1>")
    twice, second = neutralize_mentions(once)

    assert first == 3
    assert second == 0
    assert twice == once


@pytest.mark.parametrize(
    "harmless",
    [
        "write to ops@here.com",
        "see <#C0123|general> and <https://example.com|the docs>",
        "posted <!date^1392734382^{date_short}|Feb 18, 2014>",
        "the channel is quiet here",
        "email@channel.example",
    ],
)
def test_text_without_mentions_is_left_alone(harmless: str) -> None:
    assert neutralize_mentions(harmless) == (harmless, 0)

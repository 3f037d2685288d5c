"""Slack mentions made inert in every text the bot posts, customer quotes included.

A draft or a quoted customer message must never page a channel or a person:
``<!here>``, ``<!channel>``, ``<!everyone>``, ``<!subteam^S123>``, ``<@U123>``
and the plain ``@here`` / ``@channel`` / ``@everyone`` that Slack may expand
all become ``@`` + WORD JOINER + name.  A human still reads "@here"; Slack sees
no mention.  The output contains no mention syntax, so a second pass changes
nothing.
"""

from __future__ import annotations

import re

__all__ = ["WORD_JOINER", "neutralize_mentions"]

# U+2060 is invisible and does not break the word, yet ends Slack's parsing.
WORD_JOINER = "\u2060"

# <!here>, <!channel|@channel>, <!subteam^S0123|@support>, <@U123>, <@W123|name>.
# The label stops at the next "<" or ">", so each scan ends where the next
# mention could start: linear time (a label of "anything but >" rescanned the
# rest of "<!here|<!here|…" from every "<").  An opening with no closing ">"
# is made inert too: it is not a mention yet, but it is never needed as one.
_ANGLE_MENTION = re.compile(
    r"<(?:!(?P<broadcast>here|channel|everyone|group)"
    r"|!subteam\^(?P<team>[A-Za-z0-9]++)"
    r"|@(?P<user>[UW][A-Za-z0-9]++))"
    r"(?:\|(?P<label>[^<>]*+))?(?P<close>>)?",
    re.IGNORECASE,
)
_PLAIN_BROADCAST = re.compile(r"(?<![\w@.])@(here|channel|everyone|group)\b", re.IGNORECASE)


def _inert_angle(match: re.Match[str]) -> str:
    target = match.group("broadcast") or match.group("team") or match.group("user")
    if match.group("close") is None:
        rest = "" if match.group("label") is None else "|" + match.group("label")
        return f"@{WORD_JOINER}{target}{rest}"
    label = (match.group("label") or "").strip().lstrip("@")
    return f"@{WORD_JOINER}{label or target}"


def neutralize_mentions(text: str) -> tuple[str, int]:
    """Return ``text`` with every Slack mention made inert, and how many were changed."""
    if "@" not in text and "<!" not in text:
        return text, 0
    text, angle_count = _ANGLE_MENTION.subn(_inert_angle, text)
    text, plain_count = _PLAIN_BROADCAST.subn(lambda m: f"@{WORD_JOINER}{m.group(1)}", text)
    return text, angle_count + plain_count

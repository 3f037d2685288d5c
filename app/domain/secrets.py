"""Credentials out of every text the bot shows or logs: tokens, API keys, passwords in URLs.

An error from a library can quote a key or a database URL; a model can be
talked into repeating one.  Each shape starts where its run of characters
starts and is read possessively, so masking is linear in the text's length.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "[secret]"

_SECRET_SHAPES = re.compile(
    r"(?<![\w-])(?:xox[a-z]-|xoxe\.xox[a-z]-|xapp-)[A-Za-z0-9-]{1,2048}+"
    r"|(?<![\w-])sk-[A-Za-z0-9_-]{8,2048}+"
    r"|(?i:\b(?:bearer|basic)\s{1,4})[A-Za-z0-9._~+/=-]{8,2048}+"
)
_URL_PASSWORD = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]{1,20}://[^:/@\s]{0,256}:)[^\s/]{1,1024}@")
_SECRET_PAIR = re.compile(
    r"(?i)(\b(?:password|passwd|pwd|secret|token|api[_-]?key|client[_-]?secret)"
    r"[\"']?\s{0,3}[:=]\s{0,3}[\"']?)[^\s\"'&,;]{1,512}+"
)


# A fixed part of every shape above.  A card masks twenty-odd texts, nearly all
# without any of these, and three scans of a 1 kB draft cost ~120 µs, the
# look-up ~10 µs.
_FIXED_PARTS = (
    "xox", "xapp-", "sk-", "bearer", "basic", "://", "pass", "pwd", "secret", "token", "api",
)


def _may_hold_credentials(text: str) -> bool:
    """False only when no shape can match: a superset test, in the patterns' own case rules.

    ``re``'s IGNORECASE also matches ``ſ``, ``K`` (Kelvin), ``ı`` and ``İ`` to
    ASCII letters; casefold maps the first two, the last two are mapped here.
    """
    folded = text.casefold()
    if "ı" in folded or "\u0307" in folded:
        folded = folded.replace("ı", "i").replace("i\u0307", "i")
    return any(part in folded for part in _FIXED_PARTS)


def mask_credentials(text: str, *, known: Iterable[str] = ()) -> str:
    """``text`` with credentials replaced by ``[secret]``: by shape, and ``known`` by value."""
    for secret in known:
        if secret:
            text = text.replace(secret, MASK)
    if not _may_hold_credentials(text):
        return text
    text = _SECRET_SHAPES.sub(MASK, text)
    text = _URL_PASSWORD.sub(rf"\1{MASK}@", text)
    return _SECRET_PAIR.sub(rf"\1{MASK}", text)

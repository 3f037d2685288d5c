"""Finders of personal data in free text, one module per family.

``contact`` finds e-mails and phones, ``payment`` cards (with their expiry
and security code) and IBANs, ``identity`` national ID numbers, dates of
birth, street addresses, and passwords or one-time codes given in text.
Each finder returns ``Span``s over the text it was given and changes
nothing; ``app.domain.redact`` decides which spans win and writes the
placeholders.

Every pattern here reads untrusted text, so each one is written to run in
linear time (see ``app.domain.redact`` for why, and how).
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["Span"]


class Span(NamedTuple):
    """``text[start:end]`` is personal data of ``kind`` (also the placeholder's name)."""

    start: int
    end: int
    kind: str

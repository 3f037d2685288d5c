"""What an agent approves is what is sent: the text's fingerprint and its sendable form.

The card's Approve button carries the fingerprint of the text it shows; the
send compares it with the stored text, so a draft regenerated or edited
after the card was drawn is never sent unseen.
"""

from __future__ import annotations

import hashlib

from app.domain.mentions import neutralize_mentions
from app.domain.secrets import mask_credentials


def fingerprint(text: str) -> str:
    """A short hash of the text a card shows, carried by its Approve button."""
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def sendable(text: str) -> str:
    """The reply exactly as the card shows it: literal text, nothing that pings or links.

    Broadcasts and mentions are neutralized, and ``&``, ``<`` and ``>`` (the
    control characters of chat markup) are escaped, so a model-written
    ``<https://evil|Claim your refund>`` reaches the customer as the visible
    characters the agent approved, never as a live link under the brand.  A
    credential, should a model repeat one, is masked everywhere it would show.
    """
    neutral, _ = neutralize_mentions(mask_credentials(text))
    return neutral.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

"""What the use cases need from Slack, as one small protocol.

The Slack adapter (``app.slack.gateway``) implements it with slack_sdk; the
use-case tests implement it with a list of recorded calls.  Failures come
back as ``SlackFailure`` so no use case imports slack_sdk.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from app.domain.models import ThreadMessage
from app.store import Complaint, Draft


class SlackFailure(Exception):
    """Slack refused or could not be reached; ``error`` is Slack's code (``ratelimited``...)."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


# Slack's answers to chat.postMessage that mean it posted nothing.  Anything
# else (a timeout, a 5xx, internal_error, fatal_error, request_timeout, a lost
# connection, a code not listed here) may come after the message was posted,
# so it is an unknown outcome, never "not sent".
SLACK_DID_NOT_POST = frozenset({
    "ratelimited", "rate_limited", "message_limit_exceeded",
    "channel_not_found", "not_in_channel", "is_archived", "msg_too_long", "no_text",
    "too_many_attachments", "invalid_blocks", "invalid_blocks_format",
    "invalid_metadata_format", "invalid_metadata_schema", "metadata_too_large",
    "restricted_action", "restricted_action_read_only_channel",
    "restricted_action_thread_only_channel", "restricted_action_non_threadable_channel",
    "restricted_action_thread_locked", "cannot_reply_to_message", "team_access_not_granted",
    "ekm_access_denied", "access_denied", "no_permission", "missing_scope",
    "not_allowed_token_type", "invalid_auth", "not_authed", "account_inactive",
    "token_revoked", "token_expired", "invalid_arguments", "invalid_arg_name",
    "invalid_charset", "invalid_form_data",
})


def slack_did_not_post(error: str) -> bool:
    """Does this error from posting a message mean for sure that nothing was posted?"""
    return error in SLACK_DID_NOT_POST


@dataclass(frozen=True)
class CardRef:
    """Where a card was posted."""

    channel: str
    ts: str


class SlackPort(Protocol):
    async def post_card(
        self, complaint: Complaint, draft: Draft, *, to_review: bool = False
    ) -> CardRef:
        """Post a new card for ``draft``.

        A draft an agent asked for goes to that agent alone (a direct
        message) unless ``to_review``; a watched complaint's goes to the
        review channel.
        """
        ...

    async def retire_card(self, card: CardRef, *, note: str) -> None:
        """Replace an old copy of a card with a note; its buttons are gone."""
        ...

    async def update_card(self, complaint: Complaint, draft: Draft) -> None:
        """Redraw the card already posted for ``draft``."""
        ...

    async def post_reply(self, *, channel: str, thread_ts: str, text: str, draft_id: int) -> str:
        """Post an approved reply in the customer's thread; returns its ts.

        Must not retry when Slack may already have posted (5xx, timeouts).
        """
        ...

    async def find_reply(
        self, *, channel: str, thread_ts: str, draft_id: int, since: datetime
    ) -> str | None:
        """The ts of our earlier post of ``draft_id`` in the thread, if there is one.

        ``since`` is when the draft was first claimed: no post of it is older,
        so the search covers threads of any length.  Raises ``SlackFailure``
        when the thread cannot be read (which never means "not posted").
        """
        ...

    async def read_thread(
        self, *, channel: str, thread_ts: str, before_ts: str | None = None
    ) -> list[ThreadMessage]:
        """The thread's messages (older than ``before_ts`` when given), labelled by author."""
        ...

    async def permalink(
        self, *, channel: str, ts: str, thread_ts: str | None = None
    ) -> str | None:
        ...

    def known_permalink(
        self, *, channel: str, ts: str, thread_ts: str | None = None
    ) -> str | None:
        """``permalink`` when it can be built without a Slack call (the ack path's case), else None."""
        ...

    async def is_agent(self, user_id: str, *, team_id: str | None) -> bool:
        ...

    async def is_member(self, *, channel: str, user_id: str) -> bool:
        """Can ``user_id`` read ``channel``?  A brief shows nobody a thread they could not read."""
        ...

    async def remind_commitment(
        self, *, user_id: str, text: str, link: str | None, commitment_id: int
    ) -> None:
        """A direct message to ``user_id`` now, linking the thread, with "Draft the follow-up".

        Must not retry when Slack may already have posted (one reminder, once).
        """
        ...

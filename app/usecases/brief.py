"""Brief: read a whole thread, summarize it for whoever takes the escalation over, keep it, share it.

The asker follows the work in a private note (a direct message from
tactful, updated at most every ``PROGRESS_EVERY_S``: "Reading 1,240
messages… part 3 of 7"), which then becomes the brief, with Share in
thread, Send to review channel and Refresh.  A brief is stored per thread
with the thread's last message: asking again for an unchanged thread shows
the stored one at once, without a model call, unless Refresh asked anew.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

import structlog

from app.domain.briefing import BriefingPipeline, Progress
from app.domain.channels import ChannelKinds
from app.domain.models import Brief, ThreadMessage
from app.domain.ports import LLMError
from app.domain.secrets import mask_credentials
from app.store.briefs import StoredBrief
from app.usecases.ports import CardRef, SlackFailure
from app.usecases.relay_intake import RELAY_BRIEF_CONTEXT, relay_thread_for_brief

log = structlog.get_logger(__name__)

# Slack allows about one chat.update per second per message; the note moves at half that.
PROGRESS_EVERY_S = 2.0
# Permalinks shown in a brief; the rest of its refs are kept in the store.
MAX_LINKS = 120
SHARED_CHANNEL = (
    "This thread is in a channel shared with another organization (Slack Connect), so the brief "
    "stays private: use *Send to review channel* to show it to the team."
)


@dataclass(frozen=True)
class BriefView:
    """What a brief message shows: the brief, where it is from, and links to the messages it cites."""

    brief: Brief
    brief_id: int | None
    channel: str
    thread_ts: str
    links: dict[str, str] = field(default_factory=dict)
    cached: bool = False
    shared_by: str | None = None


@dataclass(frozen=True)
class BriefOutcome:
    brief: Brief | None
    message_count: int
    # What to tell the asker when there is no brief.
    problem: str | None = None
    view: BriefView | None = None


class BriefSlack(Protocol):
    """What briefs need from Slack (``SlackGateway`` implements it)."""

    async def read_thread(
        self, *, channel: str, thread_ts: str, before_ts: str | None = None
    ) -> list[ThreadMessage]: ...

    async def is_member(self, *, channel: str, user_id: str) -> bool: ...

    async def permalink(
        self, *, channel: str, ts: str, thread_ts: str | None = None
    ) -> str | None: ...

    async def open_note(self, *, user_id: str, text: str) -> CardRef: ...

    async def update_note(self, note: CardRef, *, text: str) -> None: ...

    async def show_brief(self, note: CardRef, view: BriefView) -> None: ...

    async def post_brief(self, *, channel: str, view: BriefView, thread_ts: str | None) -> None: ...

    async def is_shared_externally(self, *, channel: str) -> bool: ...


class BriefStore(Protocol):
    async def find_brief(self, *, channel_id: str, thread_ts: str) -> StoredBrief | None: ...

    async def get_brief(self, *, brief_id: int) -> StoredBrief | None: ...

    async def save_brief(
        self, *, channel_id: str, thread_ts: str, last_ts: str, message_count: int,
        brief: dict[str, object], refs: list[str], prompt_version: str, requested_by: str | None,
    ) -> StoredBrief: ...


def progress_text(messages: int, done: int, total: int) -> str:
    if total <= 1:
        return f"Reading {messages:,} messages…"
    return f"Reading {messages:,} messages… part {min(done + 1, total)} of {total}"


class BriefThread:
    def __init__(
        self,
        slack: BriefSlack,
        pipeline: BriefingPipeline,
        store: BriefStore,
        *,
        review_channel: str,
        monotonic: Callable[[], float] = time.monotonic,
        channels: ChannelKinds | None = None,
    ) -> None:
        # Relay channels' threads start with a pasted e-mail: the brief reads the customer in it.
        self._channels = channels
        self._slack = slack
        self._pipeline = pipeline
        self._store = store
        self._review_channel = review_channel
        self._monotonic = monotonic

    async def ask(
        self,
        *,
        channel: str,
        thread_ts: str,
        asker: str,
        check_member: bool,
        refresh: bool = False,
    ) -> BriefOutcome:
        """Brief the thread for ``asker`` in a private note; ``check_member`` when named by a link."""
        note = await self._slack.open_note(user_id=asker, text="Reading the thread…")
        last_shown = self._monotonic()

        async def progress(done: int, total: int, messages: int) -> None:
            nonlocal last_shown
            if self._monotonic() - last_shown < PROGRESS_EVERY_S:
                return
            last_shown = self._monotonic()
            try:
                await self._slack.update_note(note, text=progress_text(messages, done, total))
            except SlackFailure as exc:
                # Progress is a courtesy: the brief itself must not fail for it.
                log.info("brief_progress_not_shown", error=exc.error)

        outcome = await self.brief(
            channel=channel, thread_ts=thread_ts, asker=asker if check_member else None,
            refresh=refresh, progress=progress, requested_by=asker,
        )
        if outcome.view is None:
            await self._slack.update_note(note, text=outcome.problem or "No brief.")
        else:
            await self._slack.show_brief(note, outcome.view)
        return outcome

    async def brief(
        self,
        *,
        channel: str,
        thread_ts: str,
        asker: str | None = None,
        refresh: bool = False,
        progress: Progress | None = None,
        requested_by: str | None = None,
    ) -> BriefOutcome:
        """The thread's brief, stored one when the thread is unchanged; ``asker`` is checked for membership."""
        try:
            if asker is not None and not await self._slack.is_member(
                channel=channel, user_id=asker
            ):
                return BriefOutcome(
                    None, 0, "You are not a member of that channel, so I can't brief its threads."
                )
            thread = await self._slack.read_thread(channel=channel, thread_ts=thread_ts)
        except SlackFailure as exc:
            hint = (
                " Invite tactful to that channel first."
                if exc.error in ("not_in_channel", "channel_not_found")
                else " Try again in a minute."
            )
            return BriefOutcome(None, 0, f"I could not read that thread ({exc.error}).{hint}")
        thread = [m for m in thread if m.text.strip()]
        if not thread:
            return BriefOutcome(None, 0, "That thread has no messages to summarize.")
        last_ts = max((m.ts for m in thread if m.ts), key=float, default=thread_ts)
        stored = await self._store.find_brief(channel_id=channel, thread_ts=thread_ts)
        if stored is not None and not refresh and stored.last_ts == last_ts:
            brief = Brief.model_validate(stored.brief)
            return await self._outcome(brief, stored.id, channel, thread_ts, cached=True)
        context = None
        if self._channels is not None and self._channels.is_relay(channel):
            thread, context = relay_thread_for_brief(thread, root_ts=thread_ts), RELAY_BRIEF_CONTEXT
        try:
            brief = await self._pipeline.brief(thread, progress=progress, channel_context=context)
        except LLMError as exc:
            return BriefOutcome(
                None,
                len(thread),
                f"Could not summarize: {mask_credentials(str(exc))}. Try again in a minute.",
            )
        if brief.dropped:
            log.warning("brief_refs_dropped", dropped=brief.dropped, channel=channel)
        saved = await self._store.save_brief(
            channel_id=channel, thread_ts=thread_ts, last_ts=last_ts,
            message_count=brief.message_count, brief=brief.model_dump(mode="json"),
            refs=brief.refs(), prompt_version=brief.prompt_version, requested_by=requested_by,
        )
        return await self._outcome(brief, saved.id, channel, thread_ts, cached=False)

    async def share(
        self, *, brief_id: int, user: str, where: Literal["thread", "review"]
    ) -> str:
        """Post a stored brief in its thread or in the review channel; what to tell ``user``."""
        stored = await self._store.get_brief(brief_id=brief_id)
        if stored is None:
            return "That brief is no longer stored; ask for a new one."
        outcome = await self._outcome(
            Brief.model_validate(stored.brief), stored.id, stored.channel_id, stored.thread_ts,
            cached=True, shared_by=user,
        )
        assert outcome.view is not None
        try:
            if where == "thread":
                if await self._slack.is_shared_externally(channel=stored.channel_id):
                    return SHARED_CHANNEL
                await self._slack.post_brief(
                    channel=stored.channel_id, view=outcome.view, thread_ts=stored.thread_ts
                )
                return "Shared in the thread."
            await self._slack.post_brief(
                channel=self._review_channel, view=outcome.view, thread_ts=None
            )
            return "Sent to the review channel."
        except SlackFailure as exc:
            return f"Slack refused to post the brief ({exc.error}); try again in a minute."

    async def _outcome(
        self, brief: Brief, brief_id: int, channel: str, thread_ts: str, *, cached: bool,
        shared_by: str | None = None,
    ) -> BriefOutcome:
        links: dict[str, str] = {}
        for ts in brief.refs()[:MAX_LINKS]:
            link = await self._slack.permalink(channel=channel, ts=ts, thread_ts=thread_ts)
            if link:
                links[ts] = link
        view = BriefView(
            brief=brief, brief_id=brief_id, channel=channel, thread_ts=thread_ts, links=links,
            cached=cached, shared_by=shared_by,
        )
        return BriefOutcome(brief, brief.message_count, None, view)

"""Brief: read a whole thread and summarize it for whoever takes the escalation over."""

from __future__ import annotations

from dataclasses import dataclass

from app.domain.briefing import BriefingPipeline
from app.domain.limits import cap_history
from app.domain.models import Brief
from app.domain.ports import LLMError
from app.domain.secrets import mask_credentials
from app.usecases.ports import SlackFailure, SlackPort


@dataclass(frozen=True)
class BriefOutcome:
    brief: Brief | None
    message_count: int
    # What to tell the asker when there is no brief.
    problem: str | None = None


class BriefThread:
    def __init__(
        self, slack: SlackPort, pipeline: BriefingPipeline, *, max_thread_chars: int
    ) -> None:
        self._slack = slack
        self._pipeline = pipeline
        self._max_thread_chars = max_thread_chars

    async def __call__(
        self, *, channel: str, thread_ts: str, asker: str | None = None
    ) -> BriefOutcome:
        """``asker`` is checked for membership when the thread was named by a link."""
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
                else ""
            )
            return BriefOutcome(None, 0, f"I could not read that thread ({exc.error}).{hint}")
        thread = [m for m in thread if m.text.strip()]
        if not thread:
            return BriefOutcome(None, 0, "That thread has no messages to summarize.")
        # Until briefs read long threads in parts, the newest messages that fit are read.
        thread = cap_history(thread, self._max_thread_chars).messages
        try:
            brief = await self._pipeline.brief(thread)
        except LLMError as exc:
            return BriefOutcome(
                None, len(thread), f"Could not summarize: {mask_credentials(str(exc))}"
            )
        return BriefOutcome(brief, len(thread))

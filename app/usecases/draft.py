"""Draft a stored complaint: one model call, then store the draft and post its card.

Runs as a durable job after the ack.  The model sorts the message and drafts
the reply in the same call; a watched message that is not a complaint
needing a reply is counted and left alone, a message an agent asked about is
always drafted.  The draft is stored before its card is posted, so a job
re-run after a crash posts the stored draft and never asks the model again.
An LLM failure ends on a card with Retry, so a complaint is never lost
silently.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

import structlog

from app import metrics
from app.domain.draft_life import DraftState
from app.domain.drafting import DraftingPipeline
from app.domain.incidents import incident_context
from app.domain.limits import cap_history
from app.domain.models import Complaint as DomainComplaint
from app.domain.models import DraftResult, ThreadMessage
from app.domain.ports import LLMBadOutput, LLMError
from app.domain.relay import read_relayed
from app.domain.secrets import mask_credentials
from app.store import Complaint, Draft, Store
from app.store.incidents import Placement
from app.usecases.ack_first import AckFirst
from app.usecases.cards import CardDesk
from app.usecases.ports import SlackFailure, SlackPort
from app.usecases.relay_intake import pasted_history

log = structlog.get_logger(__name__)


def explain(exc: LLMError) -> str:
    """The agent-facing reason of an LLM failure, counted by kind."""
    kind = "bad_output" if isinstance(exc, LLMBadOutput) else "unavailable"
    metrics.LLM_ERRORS.labels(kind=kind).inc()
    # A server's error can quote the key it was given; the card shows this text.
    return mask_credentials(str(exc))


class ConversationReader:
    """The complaint as the pipeline sees it: its text and the thread before it."""

    def __init__(self, store: Store, slack: SlackPort, *, max_history_chars: int) -> None:
        self._store = store
        self._slack = slack
        self._max_history_chars = max_history_chars

    async def complaint(self, complaint: Complaint) -> DomainComplaint:
        if complaint.is_relayed:
            return await self._relayed(complaint)
        history: list[ThreadMessage] = []
        if complaint.thread_ts and complaint.thread_ts != complaint.message_ts:
            try:
                history = await self._slack.read_thread(
                    channel=complaint.channel_id,
                    thread_ts=complaint.thread_ts,
                    before_ts=complaint.message_ts,
                )
            except SlackFailure as exc:
                log.warning("thread_history_unavailable", error=exc.error)
        # The newest turns matter most; older ones would only cost tokens.
        history = cap_history(history, self._max_history_chars).messages
        return DomainComplaint(
            text=complaint.text,
            customer_name=complaint.user_name,
            history=history,
            channel_id=complaint.channel_id,
        )

    async def _relayed(self, complaint: Complaint) -> DomainComplaint:
        """A paste: the e-mail's quoted chain, then what agents said about it in its thread."""
        history = pasted_history(complaint.relayed)
        try:
            thread = await self._slack.read_thread(
                channel=complaint.channel_id, thread_ts=complaint.message_ts
            )
        except SlackFailure as exc:
            log.warning("thread_history_unavailable", error=exc.error)
            thread = []
        # Replies under the paste are the agents' talk about the case (our side).
        history += [m for m in thread if m.ts != complaint.message_ts and m.author != "customer"]
        history = cap_history(history, self._max_history_chars).messages
        return DomainComplaint(
            text=complaint.text,
            customer_name=complaint.user_name or None,
            history=history,
            channel_id=complaint.channel_id,
            relayed=True,
        )

    async def permalink(self, complaint: Complaint) -> str | None:
        """The link to the customer's message that the card shows, built once per complaint."""
        if complaint.permalink:
            return complaint.permalink
        return await self._slack.permalink(
            channel=complaint.channel_id, ts=complaint.message_ts, thread_ts=complaint.thread_ts
        )

    async def with_permalink(self, complaint: Complaint) -> Complaint:
        """The card links to the customer's message; Slack builds the link, once per complaint."""
        if complaint.permalink:
            return complaint
        link = await self.permalink(complaint)
        if link is None:
            return complaint
        await self._store.set_permalink(complaint_id=complaint.id, permalink=link)
        return replace(complaint, permalink=link)


class ModelWork:
    """What every use case that asks the model for a draft works with."""

    def __init__(
        self,
        store: Store,
        pipeline: DraftingPipeline,
        reader: ConversationReader,
        cards: CardDesk,
    ) -> None:
        self._store = store
        self._pipeline = pipeline
        self._reader = reader
        self._cards = cards

    def collaborators(self) -> tuple[Store, DraftingPipeline, ConversationReader, CardDesk]:
        """For another use case that works alongside this one."""
        return self._store, self._pipeline, self._reader, self._cards


class Incidents(Protocol):
    """Grouping of bursts (``app.usecases.incidents``), as the draft job sees it."""

    async def place(self, complaint: Complaint) -> Placement | None: ...

    async def redraw_for(self, complaint_id: int) -> bool: ...

    async def retire_if_grouped(self, complaint_id: int) -> None: ...


class DraftComplaint(ModelWork):
    # Set by build_desk when grouping is on: a complaint in an incident is shown on
    # the incident card, and only the incident's lead is drafted (once, for all).
    incidents: Incidents | None = None
    # Set by build_desk: acks go first while a burst's answers come back (ack_first.py).
    ack_first: AckFirst | None = None

    async def __call__(
        self, *, complaint_id: int, force: bool = False, accepted: Complaint | None = None
    ) -> None:
        """``accepted``: the complaint as stored with this job a moment ago (no draft yet)."""
        complaint: Complaint | None
        latest: Draft | None
        if accepted is not None:
            complaint, latest = accepted, None
        else:
            # One read for both: under a burst every store round trip is CPU on the loop.
            complaint, latest = await self._store.draft_job_start(complaint_id=complaint_id)
        if complaint is None:
            return
        # A pulled-out complaint (force) is handled alone whatever the grouping says.
        placement = await self.incidents.place(complaint) if self.incidents and not force else None
        if self.incidents and placement and placement.incident_id and not placement.lead:
            # Shown on the incident card only: no draft, and no permalink lookup (a
            # Tier 4 call per customer would hold a burst back by minutes).
            await self.incidents.redraw_for(complaint.id)
            return
        if await self._already_drafted(complaint, latest):
            return
        # A paste in a relay channel is an agent asking for a reply: always drafted.
        forced = complaint.source != "watch" or force or complaint.is_relayed
        domain = await self._reader.complaint(complaint)
        if placement is not None and placement.lead:
            # One draft for every customer of the incident: nobody's name in it; a
            # declared incident's description backs its dates, and no other ETA is given.
            notes = [domain.channel_context]
            if placement.context:
                notes.append(incident_context(placement.context))
            context = "\n\n".join(note for note in notes if note) or None
            domain = domain.model_copy(update={"customer_name": None, "channel_context": context})
            forced = True  # a burst of complaints always needs its shared reply
        try:
            result = await self._pipeline.draft(
                domain, guidance=complaint.guidance, reply_required=forced
            )
        except LLMError as exc:
            # The message may be a complaint: agents see a card with Retry.
            await self._fail(complaint, exc)
            return
        # Watching drafts complaints only: questions and praise are counted, not drafted.
        if not forced and not result.needs_reply:
            metrics.MESSAGES_SEEN.labels(outcome=f"not_drafted_{result.triage.kind}").inc()
            log.info("message_needs_no_reply", kind=result.triage.kind)
            return
        # A few jobs at a time store their draft, stepping aside for acks: under a burst
        # the answers come back while Slack is still waiting for acks (ack_first.py). The
        # card's post waits in the Slack pacer instead, where urgent cards go first.
        if self.ack_first is None:
            complaint, draft = await self._store_draft(complaint, result)
        else:
            async with self.ack_first.after_model():
                complaint, draft = await self._store_draft(complaint, result)
        if draft is None:
            return
        structlog.contextvars.bind_contextvars(complaint_id=complaint.id, draft_id=draft.id)
        metrics.DRAFTS.labels(outcome="drafted").inc()
        await self._let_acks_pass()
        await self._show(complaint, draft.id, fresh=draft)

    async def _store_draft(
        self, complaint: Complaint, result: DraftResult
    ) -> tuple[Complaint, Draft | None]:
        # Stored before any Slack call, with the card's link, in one transaction:
        # from here on a re-run only posts the card.
        link = await self._reader.permalink(complaint)
        draft = await self._store.save_new_draft(
            complaint_id=complaint.id,
            result=result,
            # Only a link the complaint was stored without needs writing.
            permalink=None if complaint.permalink else link,
        )
        return replace(complaint, permalink=link), draft

    async def _let_acks_pass(self) -> None:
        if self.ack_first is not None:
            await self.ack_first.let_acks_pass()

    async def _show(self, complaint: Complaint, draft_id: int, *, fresh: Draft | None = None) -> None:
        """One chat.postMessage of the filled card (or an update of the card a Retry kept).

        ``fresh`` is the draft this job has just stored, with the complaint as stored:
        the card is drawn from them instead of reading both back.
        """
        complaint = await self._reader.with_permalink(complaint)
        if self.incidents is not None and await self.incidents.redraw_for(complaint.id):
            return
        if fresh is not None:
            await self._cards.show_stored(complaint, fresh)
        else:
            await self._cards.refresh(draft_id)
        if self.incidents is not None:
            # An incident may have formed while this card was being posted.
            await self.incidents.retire_if_grouped(complaint.id)

    async def _already_drafted(self, complaint: Complaint, draft: Draft | None) -> bool:
        """True when a run before this one stored the draft: its card is posted if missing.

        A process that died between chat.postMessage and storing the card's ts
        leaves a draft without a card, so this re-run posts a second card: the
        one duplicate left, and only after a crash at that exact point.
        """
        if draft is None or draft.status in (DraftState.DRAFTING, DraftState.FAILED):
            return False
        if draft.status == DraftState.PENDING and not draft.card_ts:
            await self._show(complaint, draft.id)
        return True

    async def give_up(self, *, complaint_id: int, error: str) -> None:
        """A draft job that kept failing: its card says so and offers Retry, so nothing is lost."""
        complaint = await self._store.get_complaint(complaint_id=complaint_id)
        if complaint is None:
            return
        draft = await self._store.start_draft(complaint_id=complaint.id)
        if draft.status != DraftState.DRAFTING:
            return
        await self._reader.with_permalink(complaint)
        await self._mark_failed(
            draft.id, f"drafting kept failing ({error}); press Retry to try again"
        )

    async def retry(self, *, draft_id: int) -> bool:
        """Retry a failed draft; False when it is not waiting for a retry."""
        draft = await self._store.restart_draft(draft_id=draft_id)
        if draft is None:
            return False
        await self._store.enqueue(
            kind="draft", complaint_id=draft.complaint_id, payload={"force": True}
        )
        # Show "Drafting…" before the job runs: a fast model could otherwise fill the
        # card first and this older drawing would then overwrite it, buttons and all.
        await self._cards.refresh(draft_id)
        return True

    async def _fail(self, complaint: Complaint, exc: LLMError) -> None:
        error = explain(exc)
        draft = await self._store.start_draft(complaint_id=complaint.id)
        if draft.status != DraftState.DRAFTING:
            return
        await self._reader.with_permalink(complaint)
        await self._mark_failed(draft.id, error)

    async def _mark_failed(self, draft_id: int, error: str) -> None:
        """Store the failure, then draw it: the card is posted here if it has none yet."""
        await self._store.mark_draft_failed(draft_id=draft_id, error=error)
        metrics.DRAFTS.labels(outcome=DraftState.FAILED).inc()
        await self._cards.refresh(draft_id)


class PreviewDraft:
    """A draft of pasted text for the asker alone: nothing stored, nothing sendable."""

    def __init__(self, pipeline: DraftingPipeline) -> None:
        self._pipeline = pipeline

    async def __call__(self, text: str) -> DraftResult:
        """Raises ``LLMError`` when the model cannot be reached or answers nonsense.

        A pasted e-mail, chat or phone note is read as a relay channel reads it:
        the reply answers its sender, and the asker's note above it guides it.
        """
        relayed = read_relayed(text)
        if relayed is None:
            return await self._pipeline.draft(DomainComplaint(text=text))
        complaint = DomainComplaint(
            text=relayed.customer_text,
            customer_name=relayed.customer_name or None,
            history=relayed.history,
            relayed=True,
        )
        return await self._pipeline.draft(complaint, guidance=relayed.note or None)

""""Approve for all": each customer of an incident gets their own reply, in their own thread, once.

Runs as the durable ``incident_send`` job the approve click queued, so a
restart (or another instance, once the lease runs out) finishes it.  Each
member's reply is a draft of its own (the shared text, addressed to them),
sent through the same claim as a single card's Approve: the store's
pending -> sending claim, then the post, then sending -> sent.  A re-run
skips what was sent and, for a send left in flight by a crash, first looks
in the thread for our post before posting, so no customer hears twice.
Posts go through the paced Slack client; the card shows the progress.
"""

from __future__ import annotations

import structlog

from app import metrics
from app.domain.approval import sendable
from app.domain.draft_life import DraftState
from app.domain.incidents import IncidentState, order_number, personal_reply
from app.domain.models import TokenUsage
from app.store import Complaint, Draft, Store
from app.usecases.incidents import IncidentDesk
from app.usecases.ports import SlackFailure, SlackPort, slack_did_not_post

log = structlog.get_logger(__name__)


class SendToAll:
    def __init__(self, store: Store, slack: SlackPort, incidents: IncidentDesk) -> None:
        self._store = store
        self._slack = slack
        self._incidents = incidents

    async def __call__(self, *, incident_id: int, user_id: str) -> None:
        incident = await self._store.get_incident(incident_id=incident_id)
        if incident is None or incident.status != IncidentState.SENDING or not incident.shared_text:
            return
        assert incident.lead_complaint_id is not None
        lead = await self._store.latest_draft(complaint_id=incident.lead_complaint_id)
        assert lead is not None
        for complaint in await self._store.incident_members(incident_id=incident_id):
            await self._send_one(complaint, incident.shared_text, lead, user_id)
            await self._store.touch_incident(incident_id=incident_id)
            self._incidents.refresh_soon(incident_id)
        await self._store.finish_fan_out(incident_id=incident_id)
        log.info("incident_sent", incident_id=incident_id)
        await self._incidents.drain()
        await self._incidents.refresh(incident_id)

    async def _send_one(self, complaint: Complaint, shared: str, lead: Draft, user_id: str) -> None:
        text = personal_reply(
            shared, name=complaint.user_name, order=order_number(complaint.text)
        )
        draft = await self._own_draft(complaint, text, lead, user_id)
        if draft is None or draft.status == DraftState.SENT:
            return
        thread_ts = complaint.thread_ts or complaint.message_ts
        if draft.status == DraftState.SENDING:
            # Left in flight by a run that stopped: it may have posted.
            found = await self._slack.find_reply(
                channel=complaint.channel_id, thread_ts=thread_ts, draft_id=draft.id,
                since=draft.claimed_at or draft.created_at,
            )
            if found is None:
                found = await self._post(complaint, draft, draft.send_attempts, thread_ts)
            await self._store.mark_sent(
                draft_id=draft.id, attempt=draft.send_attempts, channel=complaint.channel_id,
                ts=found,
            )
            return
        if draft.status != DraftState.PENDING:
            return  # discarded or superseded (the customer wrote again): not ours to send
        claim = await self._store.claim_for_send(
            draft_id=draft.id, user_id=user_id, final_text=sendable(draft.text), text=draft.text
        )
        if claim.draft is None:
            return  # another reply to this customer message is out or going out
        posted = await self._post(complaint, claim.draft, claim.draft.send_attempts, thread_ts)
        await self._store.mark_sent(
            draft_id=draft.id, attempt=claim.draft.send_attempts, channel=complaint.channel_id,
            ts=posted,
        )
        metrics.DECISIONS.labels(action="approve").inc()

    async def _post(self, complaint: Complaint, draft: Draft, attempt: int, thread_ts: str) -> str:
        """Post one reply; a clear refusal hands the draft back and fails the job (retried later)."""
        try:
            return await self._slack.post_reply(
                channel=complaint.channel_id, thread_ts=thread_ts,
                text=draft.final_text or sendable(draft.text), draft_id=draft.id,
            )
        except SlackFailure as exc:
            metrics.SLACK_SEND_FAILURES.labels(error=exc.error[:40]).inc()
            if slack_did_not_post(exc.error):
                await self._store.release_send(
                    draft_id=draft.id, attempt=attempt, error=f"Slack refused the reply ({exc.error})"
                )
            # Unknown outcome: the draft stays sending and the re-run looks for the post first.
            raise

    async def _own_draft(
        self, complaint: Complaint, text: str, lead: Draft, user_id: str
    ) -> Draft | None:
        """This customer's draft holding their reply (made or rewritten from the shared one)."""
        shared = lead.as_result()
        assert shared is not None
        mine = shared.model_copy(update={"text": text, "usage": TokenUsage(), "llm_ms": 0.0})
        draft = await self._store.latest_draft(complaint_id=complaint.id)
        if draft is None or draft.status in (DraftState.DRAFTING, DraftState.FAILED):
            draft = await self._store.start_draft(complaint_id=complaint.id)
            if draft.status != DraftState.DRAFTING:
                return draft
            return await self._store.save_draft_result(draft_id=draft.id, result=mine)
        if draft.status == DraftState.PENDING and draft.text != text:
            return await self._store.replace_result(
                draft_id=draft.id, result=mine, user_id=user_id
            )
        return draft

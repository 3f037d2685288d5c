"""Approve & send: the one place a reply reaches a customer.

The store's atomic claim (pending -> sending) decides which click wins, so a
double click or two instances send once.  If Slack refuses the reply, the
claim is released and the card says so: the approval stays retryable.
Each reply carries message metadata naming its draft, so a retry after an
ambiguous failure (a timeout after Slack posted) finds the earlier post
instead of sending twice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import structlog
from slack_sdk.errors import SlackApiError

from app import metrics
from app.domain.mentions import neutralize_mentions
from app.slack.cards import refresh_card
from app.slack.services import Services
from app.slack.text import fingerprint
from app.slack.threads import thread_messages

log = structlog.get_logger(__name__)

EVENT_TYPE = "tactful_reply"

_WHY_NOT = {
    "sending": "Another agent is sending this reply right now.",
    "sent": "This reply was already sent.",
    "discarded": "This draft was discarded.",
    "superseded": "The customer wrote again since this draft; it can no longer be sent. Use the newer card.",
    "drafting": "The draft is not ready yet.",
    "failed": "There is no draft to send: press Retry first.",
}


@dataclass(frozen=True)
class SendOutcome:
    sent: bool
    message: str
    text_for_agent: str | None = None


async def approve_and_send(
    services: Services, *, draft_id: int, user_id: str, seen: str | None = None
) -> SendOutcome:
    """Send the draft; ``seen`` is the fingerprint of the text the agent approved."""
    store = services.store
    current = await store.get_draft(draft_id=draft_id)
    if current is None:
        return SendOutcome(False, "That draft no longer exists.")
    if (
        seen
        and current.status == "pending"
        and seen != fingerprint(current.final_text or current.text)
    ):
        return SendOutcome(
            False,
            "The draft changed after you saw it (regenerated or edited). "
            "Nothing was sent: read the updated card and approve again.",
        )
    text, _ = neutralize_mentions(current.final_text or current.text)
    claimed = await store.claim_for_send(draft_id=draft_id, user_id=user_id, final_text=text)
    if claimed is None:
        latest = await store.get_draft(draft_id=draft_id)
        status = latest.status if latest else "discarded"
        return SendOutcome(False, _WHY_NOT.get(status, "This draft cannot be sent now."))
    complaint = await store.get_complaint(complaint_id=claimed.complaint_id)
    assert complaint is not None
    thread_ts = complaint.thread_ts or complaint.message_ts

    if services.settings.send_as == "agent":
        await store.mark_sent(draft_id=draft_id, channel=complaint.channel_id, ts="")
        await store.record_decision(draft_id=draft_id, user_id=user_id, action="copy")
        metrics.DECISIONS.labels(action="copy").inc()
        await refresh_card(services, draft_id)
        return SendOutcome(True, "Here is the reply to post in the customer's thread:", text)

    client = services.send_client or services.client
    try:
        posted_ts = await _already_posted(services, complaint.channel_id, thread_ts, draft_id)
        if posted_ts is None:
            response = await client.chat_postMessage(
                channel=complaint.channel_id,
                thread_ts=thread_ts,
                text=text,
                unfurl_links=False,
                metadata={"event_type": EVENT_TYPE, "event_payload": {"draft_id": draft_id}},
            )
            posted_ts = response["ts"]
    except SlackApiError as exc:
        error = str(exc.response.get("error") or exc.response.status_code)
        metrics.SLACK_SEND_FAILURES.labels(error=error[:40]).inc()
        log.warning("reply_refused", draft_id=draft_id, error=error)
        await store.release_send(draft_id=draft_id, error=f"Slack refused the reply ({error})")
        await refresh_card(services, draft_id)
        return SendOutcome(
            False, f"Slack refused the reply ({error}). Nothing was sent; approve again to retry."
        )
    await store.mark_sent(draft_id=draft_id, channel=complaint.channel_id, ts=posted_ts)
    metrics.DECISIONS.labels(action="approve").inc()
    log.info("reply_sent", draft_id=draft_id)
    await refresh_card(services, draft_id)
    await _remind_to_follow_up(
        services, user_id=user_id, follow_up=claimed.follow_up, link=complaint.permalink
    )
    return SendOutcome(True, "Sent.")


async def _remind_to_follow_up(
    services: Services, *, user_id: str, follow_up: str, link: str | None
) -> None:
    """The agent who sent the reply owns the follow-up; Slack reminds them in a DM later."""
    hours = services.settings.follow_up_hours
    if not hours:
        return
    where = f" (<{link}|the conversation>)" if link else ""
    text = f":alarm_clock: Follow-up{where}: {follow_up or 'check that the customer is satisfied.'}"
    try:
        await services.client.chat_scheduleMessage(
            channel=user_id, post_at=int(time.time() + hours * 3600), text=text
        )
    except SlackApiError as exc:
        # A missed reminder must not turn a sent reply into a failure.
        log.warning("follow_up_reminder_failed", error=exc.response.get("error"))


async def recover_stuck_sends(services: Services, *, older_than_s: float = 120.0) -> int:
    """Settle drafts whose sender died mid-send: sent if our post is in the thread, else retryable."""
    settled = 0
    for draft in await services.store.stuck_sends(older_than_s=older_than_s):
        complaint = await services.store.get_complaint(complaint_id=draft.complaint_id)
        if complaint is None:
            continue
        thread_ts = complaint.thread_ts or complaint.message_ts
        try:
            posted = await _find_post(services, complaint.channel_id, thread_ts, draft.id)
        except SlackApiError:
            continue  # cannot tell yet; try again on the next sweep
        if posted:
            await services.store.mark_sent(
                draft_id=draft.id, channel=complaint.channel_id, ts=posted
            )
        else:
            await services.store.release_send(
                draft_id=draft.id,
                error="the sending process stopped before posting; nothing was sent",
            )
        log.warning("stuck_send_settled", draft_id=draft.id, sent=bool(posted))
        await refresh_card(services, draft.id)
        settled += 1
    return settled


async def _already_posted(
    services: Services, channel: str, thread_ts: str, draft_id: int
) -> str | None:
    """After an earlier failed attempt, look for a post of ours for this draft."""
    draft = await services.store.get_draft(draft_id=draft_id)
    if draft is None or draft.send_attempts <= 1:
        return None
    return await _find_post(services, channel, thread_ts, draft_id)


async def _find_post(services: Services, channel: str, thread_ts: str, draft_id: int) -> str | None:
    for message in await thread_messages(services.client, channel=channel, thread_ts=thread_ts):
        metadata = message.get("metadata") or {}
        payload = metadata.get("event_payload") or {}
        if metadata.get("event_type") == EVENT_TYPE and payload.get("draft_id") == draft_id:
            return str(message["ts"])
    return None

"""Block Kit for incidents: the incident card and the "Describe incident" modal.

Pure builders like ``blocks``: plain data in, ``(fallback, blocks)`` out.
A burst of two hundred customers still fits Slack's 50 blocks: the card
names the first few customers and counts the rest, and the "Pull out" menu
lists at most 100 of them (Slack's cap on options).
"""

from __future__ import annotations

import json
from typing import Any

from app.domain.approval import fingerprint
from app.domain.draft_life import DraftState
from app.domain.incidents import IncidentState, order_number
from app.slack.blocks import Blocks, draft_body, option, section
from app.slack.text import clip, quote, safe
from app.store import Complaint
from app.usecases.incidents import IncidentCard

APPROVE_ALL = "incident_approve_all"
PULL_OUT = "incident_pull_out"
MERGE = "incident_merge"
DESCRIBE = "incident_describe"
DESCRIBE_VIEW = "incident_describe_view"

# Customers named on the card; the rest are counted (and all can be pulled out).
SHOWN_MEMBERS = 8
MAX_OPTIONS = 100


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, 3000)}]}


def _when(moment: Any) -> str:
    if moment is None:
        return "—"
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{moment:%Y-%m-%d %H:%M} UTC>"


def _member_line(complaint: Complaint) -> str:
    name = safe(complaint.user_name) if complaint.user_name else f"<@{complaint.user_id}>"
    order = order_number(complaint.text)
    where = f"<{complaint.permalink}|<#{complaint.channel_id}>>" if complaint.permalink else (
        f"<#{complaint.channel_id}>")
    head = f"*{name}*" + (f" · order {order}" if order else "") + f" · {where}"
    return f"{head}\n{quote(safe(clip(complaint.text, 200)))}"


def _status(card: IncidentCard) -> str | None:
    incident = card.incident
    who = f"<@{incident.sent_by}>" if incident.sent_by else "an agent"
    if incident.status == IncidentState.SENDING:
        return (f":outbox_tray: *Sending* each customer their reply (approved by {who}): "
                f"{card.sent} of {len(card.members)} sent")
    if incident.status == IncidentState.SENT:
        return f":white_check_mark: *Sent* to {card.sent} customers by {who}"
    return None


def _actions(card: IncidentCard) -> Blocks:
    incident, shared = card.incident, card.shared
    if incident.status != IncidentState.OPEN:
        return []
    value = str(incident.id)
    elements: list[dict[str, Any]] = []
    approvable = incident.shared_text or (
        shared.text if shared is not None and shared.status == DraftState.PENDING
        and not shared.blocked else None
    )
    if approvable:
        elements.append({
            "type": "button", "action_id": APPROVE_ALL, "style": "primary",
            "text": {"type": "plain_text", "text": f"Approve for all {len(card.members)}"},
            "value": f"{value}:{fingerprint(approvable)}",
        })
    elements.append({
        "type": "button", "action_id": DESCRIBE, "value": value,
        "text": {"type": "plain_text", "text": "Describe incident…"},
    })
    if card.members:
        elements.append({
            "type": "multi_static_select", "action_id": PULL_OUT,
            "placeholder": {"type": "plain_text", "text": "Pull out…"},
            "options": [
                option(f"{m.user_name or m.user_id}: {m.text}", str(m.id))
                for m in card.members[:MAX_OPTIONS]
            ],
        })
    if card.others:
        elements.append({
            "type": "static_select", "action_id": MERGE,
            "placeholder": {"type": "plain_text", "text": "Merge into…"},
            "options": [
                option(f"Incident #{o.id} ({o.members} customers)", str(o.id))
                for o in card.others[:MAX_OPTIONS]
            ],
        })
    return [{"type": "actions", "block_id": f"incident_{value}", "elements": elements}]


def incident_card(card: IncidentCard) -> tuple[str, Blocks]:
    incident, members, shared = card.incident, card.members, card.shared
    channels = sorted({m.channel_id for m in members})
    fallback = f"Incident #{incident.id}: {len(members)} customers with the same problem"
    out: Blocks = [section(
        f":rotating_light: *Incident #{incident.id}* · *{len(members)} customers* · "
        + (", ".join(f"<#{c}>" for c in channels) or "no reports yet")
    )]
    out.append(_context(
        f"First report {_when(incident.first_at)} · last report {_when(incident.last_at)}"
        + (f" · declared by <@{incident.declared_by}>" if incident.declared_by else "")
    ))
    if incident.context:
        out.append(section(f"*Agents' note* (drafts use it)\n{quote(safe(incident.context))}"))
    lead = next((m for m in members if m.id == incident.lead_complaint_id), None)
    if lead is not None:
        summary = shared.triage.summary if shared is not None and shared.triage else None
        problem = f"*The shared problem*, as a customer put it:\n{quote(safe(clip(lead.text, 500)))}"
        out.append(section(problem + (f"\n_{safe(summary)}_" if summary else "")))
    status = _status(card)
    if shared is None or shared.status == DraftState.DRAFTING:
        out.append(section(":hourglass_flowing_sand: Drafting one reply for everyone…"))
    elif shared.status == DraftState.FAILED:
        out.append(section(f":warning: The shared draft failed: {safe(shared.error or '')}. "
                           "Pull out the first complaint to retry it alone."))
    elif incident.status == IncidentState.OPEN or status is None:
        text = incident.shared_text or shared.text  # what was approved, once it was
        out.extend(draft_body(text, shared.offers, shared.checklist, shared.flags))
        out.append(_context("Each customer gets this reply addressed to them by name, "
                            "with their order number, in their own thread."))
    if status:
        out.append(section(status))
    if members:
        out.append(section("*Customers*"))
        out.extend(section(_member_line(m)) for m in members[:SHOWN_MEMBERS])
        if len(members) > SHOWN_MEMBERS:
            out.append(_context(f"…and {len(members) - SHOWN_MEMBERS} more customers."))
    actions = _actions(card)
    footer = _context(f"Incident #{incident.id} · drafted once for all its customers")
    room = 50 - len(actions) - 1
    return fallback, [*out[:room], *actions, footer]


def describe_modal(incident_id: int, current: str | None) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "plain_text_input", "action_id": "text", "multiline": True, "max_length": 1000,
        "placeholder": {"type": "plain_text", "text": "Carrier outage in the north, ETA Thursday"},
    }
    if current:
        element["initial_value"] = current
    return {
        "type": "modal",
        "callback_id": DESCRIBE_VIEW,
        "private_metadata": json.dumps({"incident_id": incident_id}),
        "title": {"type": "plain_text", "text": "Describe the incident"},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {"type": "input", "block_id": "description", "element": element,
             "label": {"type": "plain_text", "text": "What is going on (drafts use this)"}},
            _context("Drafts give customers only the dates and times written here."),
        ],
    }

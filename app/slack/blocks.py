"""Pure Block Kit builders: the suggestion card, the modals, the ephemeral draft, App Home.

Nothing here talks to Slack or the store; every function takes plain data
and returns ``(fallback_text, blocks)`` or a view dict, within Block Kit's
limits (50 blocks, 3,000 characters a section, 75 characters an option).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from app.domain.approval import fingerprint
from app.domain.draft_life import ANSWERED, EDITABLE, DraftState, can_move
from app.domain.limits import unread_chars
from app.domain.models import STEP_LABELS, TONES, DraftResult, Flag, ProposedOffer, Step
from app.domain.offers import OfferCatalog
from app.slack.relay_blocks import relayed_origin
from app.slack.text import clip, quote, safe, split_text
from app.store import Complaint, Draft, Stats

# action and callback ids: the routing table in listeners/ matches on these
APPROVE = "approve_send"
EDIT = "edit_draft"
REGENERATE = "regenerate"
CHOOSE_OFFERS = "choose_offers"
DISCARD = "discard_draft"
RETRY = "retry_draft"
SHARE = "share_card"
OVERRIDE = "override_blocks"
CUSTOM_TONE = "custom"

MAX_BLOCKS = 50
_FLAG_ICON = {"block": ":no_entry:", "warning": ":warning:", "info": ":information_source:"}

Blocks = list[dict[str, Any]]


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, 3000)}}


def _context(*texts: str) -> dict[str, Any]:
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": clip(t, 3000)} for t in texts[:10]],
    }


def _button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": text, "emoji": True},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def option(text: str, value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": clip(text, 75)}, "value": value[:150]}


def _when(moment: datetime | None) -> str:
    if moment is None:
        return ""
    epoch = int(moment.timestamp())
    return f" <!date^{epoch}^{{date_short_pretty}} at {{time}}|{moment:%Y-%m-%d %H:%M} UTC>"


def _origin(complaint: Complaint) -> str:
    if complaint.is_relayed:
        # The customer is the paste's sender; the agent who pasted it is named as such.
        return relayed_origin(complaint)
    who = f"<@{complaint.user_id}>" if complaint.user_id else "someone"
    if complaint.user_name:
        who += f" ({safe(complaint.user_name)})"
    link = f" · <{complaint.permalink}|view message>" if complaint.permalink else ""
    return f"*From* {who} in <#{complaint.channel_id}>{link}"


def _triage_line(draft: Draft) -> str:
    t = draft.triage
    if t is None:
        return ""
    return (
        f"*{safe(t.category)}* · urgency *{safe(t.urgency)}* · {safe(t.sentiment)}"
        f" · {safe(t.language)}"
        f"\n_{safe(t.summary)}_"
    )


def draft_body(
    text: str, offers: Sequence[ProposedOffer], checklist: dict[Step, bool], flags: Sequence[Flag]
) -> Blocks:
    """The draft text, the offers side by side, the checklist and the flags."""
    blocks: Blocks = []
    chunks = split_text(text)
    for number, chunk in enumerate(chunks):
        label = "*Draft reply*\n" if number == 0 else ""
        blocks.append(section(label + quote(safe(chunk))))
    if offers:
        fields = [
            {
                "type": "mrkdwn",
                "text": clip(f"*{safe(o.describe())}*\n{safe(o.why_it_helps)}", 2000),
            }
            for o in offers[:10]
        ]
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": "*Offers*"}, "fields": fields}
        )
    else:
        blocks.append(section("*Offers*\nNo offer within the catalog and your authority."))
    marks = " ".join(
        f"{':white_check_mark:' if checklist.get(step) else ':x:'} {label}"
        for step, label in STEP_LABELS.items()
    )
    blocks.append(_context(marks))
    if flags:
        lines = "\n".join(f"{_FLAG_ICON[f.severity]} {safe(f.message)}" for f in flags[:20])
        blocks.append(section(lines))
    return blocks


def current_offer_options(draft: Draft, catalog: OfferCatalog) -> Blocks:
    """The draft's offers as a select's initial options.

    Slack refuses initial options that differ from every option, so the label
    comes from the catalog as it is now (a manager may have renamed the offer
    since the draft was written), not from the copy stored with the draft.
    """
    return [
        option(catalog[o.offer_id].label, o.offer_id)
        for o in draft.offers
        if o.offer_id in catalog
    ]


def note(text: str) -> dict[str, Any]:
    """A plain line where a card used to be."""
    return section(text)


def _buttons(
    draft: Draft, *, private: bool = False, relayed: bool = False
) -> list[dict[str, Any]]:
    """A button for each move the draft's state allows an agent, read from the table."""
    value = str(draft.id)
    state = draft.status
    elements: list[dict[str, Any]] = []
    if can_move(state, DraftState.SENDING) and draft.blocked:
        elements.append(_button("Override…", OVERRIDE, value, style="danger"))
    elif can_move(state, DraftState.SENDING):
        # The text's fingerprint lets Approve refuse a draft that changed after drawing.
        elements.append(_button(
            # A relayed customer is answered by e-mail or chat: Approve gives the text to paste.
            "Approve & copy" if relayed else "Approve & send",
            APPROVE,
            f"{value}:{fingerprint(draft.final_text or draft.text)}",
            style="primary",
        ))
    if state in EDITABLE:
        tone_options = [option(f"Regenerate: {tone}", tone) for tone in TONES]
        tone_options.append(option("Regenerate with my guidance…", CUSTOM_TONE))
        elements.append(_button("Edit", EDIT, value))
        elements.append({
            "type": "static_select",
            "action_id": REGENERATE,
            "placeholder": {"type": "plain_text", "text": "Regenerate…"},
            "options": tone_options,
        })
    if can_move(state, DraftState.DRAFTING):
        elements.append(_button("Retry", RETRY, value, style="primary"))
    if can_move(state, DraftState.DISCARDED):
        elements.append(_button("Discard", DISCARD, value, style="danger"))
    if private and state in EDITABLE:
        elements.append(_button("Share in review channel", SHARE, value))
    return elements


def _actions(
    draft: Draft, catalog: OfferCatalog, *, private: bool = False, relayed: bool = False
) -> Blocks:
    value = str(draft.id)
    elements = _buttons(draft, private=private, relayed=relayed)
    if not elements:
        return []
    rows: Blocks = [{"type": "actions", "block_id": f"card_{value}", "elements": elements}]
    if draft.status in EDITABLE:
        chooser: dict[str, Any] = {
            "type": "multi_static_select",
            "action_id": CHOOSE_OFFERS,
            "placeholder": {"type": "plain_text", "text": "Pick other offers"},
            "options": [option(o.label, o.id) for o in catalog.offers][:100],
        }
        current = current_offer_options(draft, catalog)
        if current:
            chooser["initial_options"] = current
        rows.append({"type": "actions", "block_id": f"offers_{value}", "elements": [chooser]})
    return rows


def card(
    complaint: Complaint, draft: Draft, catalog: OfferCatalog, *, private: bool = False
) -> tuple[str, Blocks]:
    """The suggestion card for one draft, in whatever state the draft is in.

    ``private``: the card sits in the asker's DM, with a button to share it.
    """
    category = draft.triage.category if draft.triage else "new"
    header = {
        "type": "header",
        "text": {"type": "plain_text", "text": clip(f"Suggested reply · {category}", 150)},
    }
    blocks: Blocks = [header, section(_origin(complaint) + "\n" + _triage_line(draft))]
    if unread := unread_chars(complaint.text):
        blocks.append(
            _context(
                f":scissors: The message was too long: the last {unread:,} characters were not "
                "read (TACTFUL_MAX_MESSAGE_CHARS). Check the original before approving."
            )
        )
    fallback = f"Suggested reply for a message from {complaint.user_name or complaint.user_id}"
    status = draft.status
    if status == DraftState.DRAFTING:
        # The model is at work and the card is redrawn within seconds: nothing
        # to click yet (a stale card's Discard still works, by the table).
        blocks.append(section(":hourglass_flowing_sand: Drafting a reply…"))
        return fallback, blocks
    if status == DraftState.FAILED:
        blocks.append(
            section(
                f":warning: *Could not draft a reply:* {safe(draft.error or 'unknown error')}\n"
                "Nothing is lost: the message is kept. Press *Retry* when the LLM is back."
            )
        )
        blocks.extend(_actions(draft, catalog, private=private, relayed=complaint.is_relayed))
        return fallback, blocks
    shown_text = draft.final_text or draft.text
    blocks.extend(draft_body(shown_text, draft.offers, draft.checklist, draft.flags))
    blocks.extend(_decision(draft, relayed=complaint.is_relayed))
    blocks.extend(_actions(draft, catalog, private=private, relayed=complaint.is_relayed))
    if private:
        blocks.append(_context(":lock: Only you can see this draft until you share it."))
    # The follow-up matters while the reply may still go out, or once it has.
    if draft.follow_up and status in EDITABLE | ANSWERED:
        blocks.append(_context(f":alarm_clock: Follow-up: {safe(draft.follow_up)}"))
    blocks.append(
        _context(
            f"Draft {draft.id} v{draft.version} · prompt {safe(draft.prompt_version)}"
            f" · {safe(draft.model)} · {draft.prompt_tokens}+{draft.completion_tokens} tokens"
            + (f" · tone {safe(draft.tone)}" if draft.tone else "")
        )
    )
    return fallback, _fit(blocks)


def _decision(draft: Draft, *, relayed: bool = False) -> Blocks:
    who = f"<@{draft.decided_by}>" if draft.decided_by else "someone"
    when = _when(draft.decided_at)
    lines = {
        DraftState.SENDING: f":outbox_tray: Sending… (approved by {who})",
        DraftState.SENT: f":white_check_mark: *Sent* by {who}{when}",
        DraftState.DISCARDED: f":wastebasket: *Discarded* by {who}{when}"
        + (f": {safe(draft.discard_reason)}" if draft.discard_reason else ""),
        DraftState.SUPERSEDED: ":arrow_heading_down: *Superseded*: the customer wrote again, "
        "or the draft was regenerated. This draft can no longer be sent.",
    }
    line = lines.get(draft.status)
    if draft.status == DraftState.SENT and not draft.sent_ts:
        # TACTFUL_SEND_AS=agent: the bot posted nothing; the agent was given the text to post.
        line = f":clipboard: *Copied* by {who}{when} to post in the customer's thread"
        if relayed:
            line = f":outbox_tray: *Sent by e-mail or chat* by {who}{when} (marked as sent)"
    if draft.status == DraftState.PENDING and draft.error:
        line = f":warning: *Sending failed:* {safe(draft.error)}. You can approve again."
    return [section(line)] if line else []


def _fit(blocks: Blocks) -> Blocks:
    """Keep the card under Slack's 50-block cap, keeping the actions and footer."""
    if len(blocks) <= MAX_BLOCKS:
        return blocks
    tail = blocks[-4:]
    head = blocks[: MAX_BLOCKS - len(tail) - 1]
    return [
        *head,
        _context("…the draft is too long to show in full; open Edit to see all of it."),
        *tail,
    ]


def ephemeral_draft(result: DraftResult, *, note: str = "") -> tuple[str, Blocks]:
    """A draft shown only to the agent who asked (slash command)."""
    blocks: Blocks = []
    if note:
        blocks.append(_context(safe(note)))
    blocks.extend(draft_body(result.text, result.offers, result.checklist, result.flags))
    blocks.append(_context(f"Only you can see this · prompt {safe(result.prompt_version)}"))
    return "Your draft reply (only visible to you)", _fit(blocks)


def home(stats: Stats | None) -> dict[str, Any]:
    """App Home: how drafts are doing, for agents only (``None`` for anyone else)."""
    if stats is None:
        return {
            "type": "home",
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": "tactful"}},
                section(
                    "tactful drafts replies to customer complaints for the support team. "
                    "Its figures are shown to support agents only."
                ),
            ],
        }

    def rate(value: float | None) -> str:
        return f"{value:.0%}" if value is not None else "–"

    lines = [
        f"*Complaints* {stats.complaints} · *drafts* {stats.drafts_total} · *sent* {stats.sent}"
        f" · *discarded* {stats.discarded} · *waiting* {stats.pending}",
        f"*Acceptance rate* {rate(stats.acceptance_rate)} · "
        f"*edited before sending* {rate(stats.edit_rate)}",
    ]
    if stats.incidents:
        lines.append(f"*Incidents* {stats.incidents} ({stats.incident_complaints} complaints on "
                     f"incident cards, {stats.declared_incidents} declared by agents)")
    if stats.median_seconds_to_decision is not None:
        lines.append(f"*Median time to decision* {stats.median_seconds_to_decision / 60:.1f} min")
    if stats.median_seconds_to_reply is not None:
        lines.append(f"*Median time to reply* {stats.median_seconds_to_reply / 60:.1f} min")
    if any(kind.kind != "customer" for kind in stats.by_channel_kind):
        lines.append("*By channel kind* " + " · ".join(
            f"{safe(kind.kind)}: {kind.complaints} complaints, {kind.sent} replied"
            for kind in stats.by_channel_kind
        ))
    categories = "\n".join(
        f"• {safe(c.category)}: {c.complaints} complaints, {c.sent} replied"
        for c in stats.by_category[:10]
    )
    recurring = ", ".join(safe(c) for c in stats.top_recurring_categories) or "none yet"
    blocks: Blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "tactful"}},
        section("\n".join(lines)),
        section("*Categories*\n" + (categories or "none yet")),
        section(f"*Recurring issues* {recurring}"),
        _context("Drafts are suggestions: nothing reaches a customer without an agent's click."),
    ]
    return {"type": "home", "blocks": blocks}

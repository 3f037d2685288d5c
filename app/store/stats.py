"""Figures for managers, computed from drafts, complaints and decisions.

The queries fetch the few columns needed and the arithmetic happens in
Python: the triage category sits inside a JSON column, whose SQL spelling
differs between SQLite and PostgreSQL, and a support team's volume is small.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from statistics import median
from typing import Any

from sqlalchemy import ColumnElement, func, select, true

from app.domain.draft_life import DECIDED, DraftState
from app.domain.incidents import IncidentState
from app.store.records import CategoryCount, ChannelKindCount, Stats
from app.store.sessions import StoreSessions
from app.store.tables import ComplaintRow, DecisionRow, DraftRow, IncidentRow

TOP_CATEGORIES = 5
UNCATEGORIZED = "uncategorized"


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _median(values: list[float]) -> float | None:
    return float(median(values)) if values else None


class StatsQueries(StoreSessions):
    async def stats(self, *, since: datetime | None = None) -> Stats:
        """Acceptance and edit rates, categories, decision and reply times, tokens."""
        def after(column: Any) -> ColumnElement[bool]:
            return column >= since if since is not None else true()

        async with self._read() as session:
            per_kind = {str(kind): int(n) for kind, n in (await session.execute(
                select(ComplaintRow.channel_kind, func.count())
                .where(after(ComplaintRow.created_at)).group_by(ComplaintRow.channel_kind)
            )).all()}
            complaints = sum(per_kind.values())
            drafts = (await session.execute(
                select(
                    DraftRow.id, DraftRow.complaint_id, DraftRow.version, DraftRow.status,
                    DraftRow.triage, DraftRow.prompt_tokens, DraftRow.completion_tokens,
                    DraftRow.created_at, DraftRow.decided_at,
                    ComplaintRow.created_at.label("complaint_created_at"),
                    ComplaintRow.channel_kind,
                )
                .join(ComplaintRow, ComplaintRow.id == DraftRow.complaint_id)
                .where(after(DraftRow.created_at))
                .order_by(DraftRow.complaint_id, DraftRow.version)
            )).all()
            edited_ids = set((await session.scalars(
                select(DecisionRow.draft_id).distinct()
                .join(DraftRow, DraftRow.id == DecisionRow.draft_id)
                .where(DecisionRow.action == "edit", after(DraftRow.created_at))
            )).all())
            actions = {action: int(n) for action, n in (await session.execute(
                select(DecisionRow.action, func.count())
                .join(DraftRow, DraftRow.id == DecisionRow.draft_id)
                .where(after(DraftRow.created_at)).group_by(DecisionRow.action)
            )).all()}
            incidents = (await session.execute(
                select(func.count(), func.coalesce(func.sum(IncidentRow.members), 0),
                       func.count(IncidentRow.declared_by))
                .where(IncidentRow.status != IncidentState.MERGED, after(IncidentRow.created_at))
            )).one()

        by_status = Counter(row.status for row in drafts)
        sent_ids = {row.id for row in drafts if row.status == DraftState.SENT}
        decision_times = [
            (row.decided_at - row.created_at).total_seconds()
            for row in drafts
            if row.decided_at is not None and row.status in DECIDED
        ]
        reply_times = [
            (row.decided_at - row.complaint_created_at).total_seconds()
            for row in drafts if row.status == DraftState.SENT and row.decided_at is not None
        ]

        # One category per complaint: the newest version that was triaged
        # (rows are ordered by version, so later ones overwrite).
        category_of: dict[int, str] = {}
        answered: set[int] = set()
        for row in drafts:
            if row.triage:
                category_of[row.complaint_id] = str(row.triage.get("category") or UNCATEGORIZED)
            if row.status == DraftState.SENT:
                answered.add(row.complaint_id)
        counts = Counter(category_of.values())
        kind_of = {row.complaint_id: row.channel_kind for row in drafts}
        sent_per_kind = Counter(kind_of[c] for c in answered)
        by_channel_kind = [
            ChannelKindCount(kind=kind, complaints=n, sent=sent_per_kind[kind])
            for kind, n in sorted(per_kind.items(), key=lambda item: (-item[1], item[0]))
        ]
        sent_per_category = Counter(category_of[c] for c in answered if c in category_of)
        by_category = [
            CategoryCount(category=category, complaints=n, sent=sent_per_category[category])
            for category, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        ]

        sent, discarded = by_status[DraftState.SENT], by_status[DraftState.DISCARDED]
        edited_before_send = len(sent_ids & edited_ids)
        return Stats(
            by_channel_kind=by_channel_kind,
            since=since,
            complaints=complaints,
            drafts_total=len(drafts),
            by_status=dict(sorted(by_status.items())),
            sent=sent,
            discarded=discarded,
            pending=by_status[DraftState.PENDING],
            acceptance_rate=_rate(sent, sent + discarded),
            edited_before_send=edited_before_send,
            edit_rate=_rate(edited_before_send, sent),
            by_category=by_category,
            top_recurring_categories=[c.category for c in by_category
                                      if c.complaints >= 2][:TOP_CATEGORIES],
            median_seconds_to_decision=_median(decision_times),
            median_seconds_to_reply=_median(reply_times),
            prompt_tokens=sum(row.prompt_tokens for row in drafts),
            completion_tokens=sum(row.completion_tokens for row in drafts),
            actions=dict(sorted(actions.items())),
            incidents=int(incidents[0]),
            incident_complaints=int(incidents[1]),
            declared_incidents=int(incidents[2]),
        )

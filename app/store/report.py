"""The managers' report (``tactful report``, App Home): figures from SQL aggregates.

Every figure is a GROUP BY in the database (SQLAlchemy Core), so the report
costs the same whether the store holds a hundred drafts or a million; the
edit size it sums is stored on each draft when it is sent.  Only the phrase
mining needs texts: it streams a bounded sample, the latest ``phrase_sample``
edited replies, and diffs them in Python (``app.domain.edit_diff``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, distinct, func, literal, select, true

from app.domain.draft_life import DraftState
from app.domain.edit_diff import model_text, phrase_changes, top_phrases
from app.store.sessions import StoreSessions
from app.store.tables import CommitmentRow, ComplaintRow, DecisionRow, DraftRow

UNCATEGORIZED = "uncategorized"
NO_REASON = "(no reason given)"
# Drafts made before playbooks had names.
NO_PLAYBOOK = "(not recorded)"
PHRASE_SAMPLE = 300
# Upper bounds (seconds) of the reply-time buckets; the last bucket is open.
REPLY_BUCKETS = ((300, "< 5 min"), (900, "5–15 min"), (3600, "15–60 min"),
                 (14400, "1–4 h"), (86400, "4–24 h"))


@dataclass(frozen=True)
class GroupFigures:
    """Acceptance and edits of the drafts sharing one prompt version, playbook or category."""

    key: str
    drafts: int
    sent: int
    discarded: int
    edited: int
    avg_edit_chars: float | None
    avg_edit_ratio: float | None

    @property
    def acceptance_rate(self) -> float | None:
        decided = self.sent + self.discarded
        return self.sent / decided if decided else None

    @property
    def edit_rate(self) -> float | None:
        return self.edited / self.sent if self.sent else None


@dataclass(frozen=True)
class Recurring:
    """Complaints of one category in this period and in the one of equal length before it."""

    category: str
    complaints: int
    previous: int

    @property
    def trend(self) -> float | None:
        return (self.complaints - self.previous) / self.previous if self.previous else None


@dataclass(frozen=True)
class Report:
    since: datetime
    until: datetime
    channel: str | None
    complaints: int
    overall: GroupFigures
    by_prompt_version: list[GroupFigures]
    by_playbook: list[GroupFigures]
    by_category: list[GroupFigures]
    discard_reasons: list[tuple[str, int]]
    replies: int
    avg_seconds_to_reply: float | None
    reply_buckets: list[tuple[str, int]]
    recurring: list[Recurring]
    phrases_deleted: list[tuple[str, int]] = field(default_factory=list)
    phrases_added: list[tuple[str, int]] = field(default_factory=list)
    phrase_sample: int = 0
    commitments: dict[str, int] = field(default_factory=dict)


def _category() -> ColumnElement[Any]:
    return func.coalesce(DraftRow.triage["category"].as_string(), literal(UNCATEGORIZED))


class ReportQueries(StoreSessions):
    def _seconds(self, later: Any, earlier: Any) -> ColumnElement[Any]:
        """Seconds between two timestamp columns, spelled for this backend."""
        if self.dialect_name == "postgresql":
            return func.extract("epoch", later - earlier)
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0

    def _reason(self) -> ColumnElement[Any]:
        """The discard reason without the agent's note: the modal stores "Reason: note"."""
        reason = func.coalesce(DraftRow.discard_reason, literal(NO_REASON))
        find = func.strpos if self.dialect_name == "postgresql" else func.instr
        at = find(reason, literal(": "))
        return case((at > 0, func.substr(reason, 1, at - 1)), else_=reason)

    async def report(
        self, *, since: datetime, until: datetime | None = None, channel: str | None = None,
        phrase_sample: int = PHRASE_SAMPLE,
    ) -> Report:
        until = until or self._clock()
        in_channel = ComplaintRow.channel_id == channel if channel else true()
        window = and_(DraftRow.created_at >= since, DraftRow.created_at < until, in_channel)
        async with self._read() as session:
            complaints = int(await session.scalar(
                select(func.count()).select_from(ComplaintRow).where(
                    ComplaintRow.created_at >= since, ComplaintRow.created_at < until, in_channel)
            ) or 0)
            groups: dict[str, list[GroupFigures]] = {}
            playbook = func.coalesce(DraftRow.playbook, literal(NO_PLAYBOOK))
            for name, key in (("overall", literal("all")), ("prompt", DraftRow.prompt_version),
                              ("playbook", playbook), ("category", _category())):
                groups[name] = await self._groups(session, key, window)
            reasons = (await session.execute(
                select(self._reason().label("reason"), func.count())
                .join(ComplaintRow, ComplaintRow.id == DraftRow.complaint_id)
                .where(window, DraftRow.status == DraftState.DISCARDED)
                .group_by("reason").order_by(func.count().desc(), "reason")
            )).all()
            replies, avg_reply, buckets = await self._reply_times(session, window)
            recurring = await self._recurring(session, since, until, in_channel)
            commitments = {str(k): int(v) for k, v in (await session.execute(
                select(func.coalesce(CommitmentRow.outcome, "open").label("state"), func.count())
                .join(DraftRow, DraftRow.id == CommitmentRow.draft_id)
                .join(ComplaintRow, ComplaintRow.id == DraftRow.complaint_id)
                .where(window).group_by("state")
            )).all()}
            pairs = await self._edited_pairs(session, window, phrase_sample)
        changes = phrase_changes(pairs)
        empty = GroupFigures("all", 0, 0, 0, 0, None, None)
        return Report(
            since=since, until=until, channel=channel, complaints=complaints,
            overall=(groups["overall"] or [empty])[0],
            by_prompt_version=groups["prompt"], by_playbook=groups["playbook"],
            by_category=groups["category"],
            discard_reasons=[(str(r), int(n)) for r, n in reasons],
            replies=replies, avg_seconds_to_reply=avg_reply, reply_buckets=buckets,
            recurring=recurring,
            phrases_deleted=top_phrases(changes.deleted), phrases_added=top_phrases(changes.added),
            phrase_sample=changes.drafts,
            commitments=commitments,
        )

    async def _groups(self, session: Any, key: Any, window: Any) -> list[GroupFigures]:
        sent = DraftRow.status == DraftState.SENT
        measured = and_(sent, DraftRow.edit_chars.is_not(None))
        rows = (await session.execute(
            select(
                key.label("key"),
                func.count(),
                func.count(case((sent, 1))),
                func.count(case((DraftRow.status == DraftState.DISCARDED, 1))),
                func.count(case((and_(measured, DraftRow.edit_chars > 0), 1))),
                func.avg(case((measured, DraftRow.edit_chars))),
                func.avg(case((measured, DraftRow.edit_ratio))),
            )
            .join(ComplaintRow, ComplaintRow.id == DraftRow.complaint_id)
            .where(window)
            .group_by("key")
            .order_by(func.count().desc(), "key")
        )).all()
        return [
            GroupFigures(str(k), int(n), int(s), int(d), int(e),
                         float(c) if c is not None else None, float(r) if r is not None else None)
            for k, n, s, d, e, c, r in rows
        ]

    async def _reply_times(
        self, session: Any, window: Any
    ) -> tuple[int, float | None, list[tuple[str, int]]]:
        seconds = self._seconds(DraftRow.decided_at, ComplaintRow.created_at)
        columns = [func.count(), func.avg(seconds)]
        lower = 0
        for upper, _ in REPLY_BUCKETS:
            columns.append(func.count(case((and_(seconds >= lower, seconds < upper), 1))))
            lower = upper
        columns.append(func.count(case((seconds >= lower, 1))))
        row = (await session.execute(
            select(*columns).select_from(DraftRow)
            .join(ComplaintRow, ComplaintRow.id == DraftRow.complaint_id)
            .where(window, DraftRow.status == DraftState.SENT, DraftRow.decided_at.is_not(None))
        )).one()
        labels = [label for _, label in REPLY_BUCKETS] + [f"> {REPLY_BUCKETS[-1][1].split('–')[-1]}"]
        average = float(row[1]) if row[1] is not None else None
        return int(row[0]), average, [(label, int(n)) for label, n in zip(labels, row[2:], strict=True)]

    async def _recurring(
        self, session: Any, since: datetime, until: datetime, in_channel: Any
    ) -> list[Recurring]:
        """Categories by complaints (each counted once), against the period just before."""
        before = since - (until - since)
        current = and_(ComplaintRow.created_at >= since, ComplaintRow.created_at < until)
        previous = and_(ComplaintRow.created_at >= before, ComplaintRow.created_at < since)
        category = _category().label("category")
        rows = (await session.execute(
            select(
                category,
                func.count(distinct(case((current, ComplaintRow.id)))),
                func.count(distinct(case((previous, ComplaintRow.id)))),
            )
            .select_from(DraftRow)
            .join(ComplaintRow, ComplaintRow.id == DraftRow.complaint_id)
            .where(ComplaintRow.created_at >= before, ComplaintRow.created_at < until,
                   in_channel, DraftRow.triage.is_not(None))
            .group_by("category")
        )).all()
        found = [Recurring(str(c), int(n), int(p)) for c, n, p in rows if n]
        return sorted(found, key=lambda r: (-r.complaints, r.category))

    async def _edited_pairs(
        self, session: Any, window: Any, limit: int
    ) -> list[tuple[str, str]]:
        """(model text, sent text) of the latest ``limit`` edited replies, streamed in one pass."""
        latest = (
            select(DraftRow.id)
            .join(ComplaintRow, ComplaintRow.id == DraftRow.complaint_id)
            .where(window, DraftRow.status == DraftState.SENT, DraftRow.edit_chars > 0)
            .order_by(DraftRow.decided_at.desc(), DraftRow.id.desc())
            .limit(limit)
            .subquery()
        )
        texts = {
            draft_id: (text, final)
            for draft_id, text, final in (await session.execute(
                select(DraftRow.id, DraftRow.text, DraftRow.final_text)
                .where(DraftRow.id.in_(select(latest.c.id)))
            )).all()
        }
        trails: dict[int, list[tuple[str, dict[str, Any]]]] = {d: [] for d in texts}
        stream = await session.stream(
            select(DecisionRow.draft_id, DecisionRow.action, DecisionRow.detail)
            .where(DecisionRow.draft_id.in_(select(latest.c.id)),
                   DecisionRow.action.in_(("edit", "regenerate")))
            .order_by(DecisionRow.draft_id, DecisionRow.id)
            .execution_options(yield_per=100)
        )
        async for draft_id, action, detail in stream:
            trails[draft_id].append((action, detail))
        return [
            (model_text(text, trails[draft_id]), final or text)
            for draft_id, (text, final) in sorted(texts.items())
        ]

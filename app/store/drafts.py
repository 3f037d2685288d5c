"""Draft versions of a complaint's reply: creation, results, cards, superseding.

A complaint has drafts numbered 1, 2, ... (regenerate and retry add one).
Only the newest version may be sendable: starting a new version supersedes
the older pending or failed ones, so a stale card can never send.  A draft
job re-run after a crash finds its 'drafting' row again instead of adding a
version.  (A re-run that finds the newest version already past 'drafting'
should treat its work as done; ``latest_draft`` tells.)
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.domain.models import DraftResult
from app.store.records import Draft, DraftStateError
from app.store.sessions import StoreSessions
from app.store.tables import ComplaintRow, DraftRow

# States a newer customer message or a newer version makes stale.
OPEN_STATES = ("drafting", "pending", "failed")
# Once the newest version is in one of these, the complaint gets no new draft.
CLOSED_STATES = ("sending", "sent", "discarded", "superseded")
_VERSION_RACES = 3


def _slack_ts(ts: str) -> Decimal:
    try:
        return Decimal(ts)
    except InvalidOperation as exc:
        raise ValueError(f"{ts!r} is not a Slack message timestamp") from exc


class DraftQueries(StoreSessions):
    async def start_draft(self, *, complaint_id: int) -> Draft:
        """The complaint's 'drafting' version, created if there is none.

        A new version inherits the card of the previous one (so regenerating
        updates the same message) and supersedes it if it was pending or
        failed.  Raises ``DraftStateError`` when the newest version is closed
        (sent, being sent, discarded or superseded): that complaint is settled.
        Raises ``LookupError`` for an unknown complaint.
        """
        for race in range(_VERSION_RACES):
            try:
                return await self._start_draft_once(complaint_id)
            except IntegrityError:
                # Another worker inserted the same version first; its row is
                # the 'drafting' one we will find on the next pass.
                if race == _VERSION_RACES - 1:
                    raise
        raise AssertionError("unreachable")

    async def _start_draft_once(self, complaint_id: int) -> Draft:
        now = self._clock()
        async with self._write() as session:
            if await session.get(ComplaintRow, complaint_id) is None:
                raise LookupError(f"complaint {complaint_id} does not exist")
            latest = await session.scalar(
                select(DraftRow).where(DraftRow.complaint_id == complaint_id)
                .order_by(DraftRow.version.desc()).limit(1).with_for_update()
            )
            if latest is not None and latest.status == "drafting":
                return Draft.from_row(latest)
            if latest is not None and latest.status in CLOSED_STATES:
                raise DraftStateError(latest.id, latest.status, "the complaint takes no new draft")
            await session.execute(
                update(DraftRow)
                .where(DraftRow.complaint_id == complaint_id, DraftRow.status.in_(OPEN_STATES))
                .values(status="superseded", updated_at=now)
                .execution_options(synchronize_session=False)
            )
            row = DraftRow(
                complaint_id=complaint_id, version=(latest.version + 1) if latest else 1,
                status="drafting", text="", final_text=None, offers=[], checklist={},
                flags=[], triage=None, follow_up="", tone=None, prompt_version="", model="",
                prompt_tokens=0, completion_tokens=0, llm_ms=0.0,
                card_channel=latest.card_channel if latest else None,
                card_ts=latest.card_ts if latest else None,
                error=None, decided_by=None, decided_at=None, discard_reason=None,
                sent_channel=None, sent_ts=None, send_attempts=0,
                created_at=now, updated_at=now,
            )
            session.add(row)
            await session.flush()
            return Draft.from_row(row)

    async def set_card(self, *, draft_id: int, channel: str, ts: str) -> None:
        """Remember the Slack message that shows this draft, to update it later."""
        async with self._write() as session:
            await session.execute(
                update(DraftRow).where(DraftRow.id == draft_id)
                .values(card_channel=channel, card_ts=ts, updated_at=self._clock())
                .execution_options(synchronize_session=False)
            )

    async def save_draft_result(self, *, draft_id: int, result: DraftResult) -> Draft:
        """Store the reviewed draft and make it 'pending' (ready for an agent).

        Only a 'drafting' row takes the result; if it was superseded or
        discarded while the model was working, it is returned unchanged so
        the caller shows that state instead of a sendable card.
        """
        async with self._write() as session:
            row = await session.scalar(
                update(DraftRow)
                .where(DraftRow.id == draft_id, DraftRow.status == "drafting")
                .values(
                    status="pending", text=result.text,
                    offers=[o.model_dump(mode="json") for o in result.offers],
                    checklist={step.value: done for step, done in result.checklist.items()},
                    flags=[f.model_dump(mode="json") for f in result.flags],
                    triage=result.triage.model_dump(mode="json"),
                    follow_up=result.follow_up, tone=result.tone,
                    prompt_version=result.prompt_version, model=result.model,
                    prompt_tokens=result.usage.prompt_tokens,
                    completion_tokens=result.usage.completion_tokens,
                    llm_ms=result.llm_ms, error=None, updated_at=self._clock(),
                )
                .returning(DraftRow)
                .execution_options(synchronize_session=False)
            )
            if row is None:
                row = await session.get(DraftRow, draft_id)
                if row is None:
                    raise DraftStateError(draft_id, None, "cannot save a result")
            return Draft.from_row(row)

    async def mark_draft_failed(self, *, draft_id: int, error: str) -> None:
        """'drafting' -> 'failed'; the card offers Retry, which starts a new version."""
        async with self._write() as session:
            await session.execute(
                update(DraftRow)
                .where(DraftRow.id == draft_id, DraftRow.status == "drafting")
                .values(status="failed", error=error, updated_at=self._clock())
                .execution_options(synchronize_session=False)
            )

    async def get_draft(self, *, draft_id: int) -> Draft | None:
        async with self._read() as session:
            row = await session.get(DraftRow, draft_id)
            return Draft.from_row(row) if row is not None else None

    async def latest_draft(self, *, complaint_id: int) -> Draft | None:
        async with self._read() as session:
            row = await session.scalar(
                select(DraftRow).where(DraftRow.complaint_id == complaint_id)
                .order_by(DraftRow.version.desc()).limit(1)
            )
            return Draft.from_row(row) if row is not None else None

    async def supersede_thread(
        self, *, channel_id: str, thread_ts: str, newer_than_ts: str,
    ) -> list[Draft]:
        """A newer customer message arrived in this thread: retire the open drafts before it.

        Every drafting/pending/failed draft of a complaint in (channel,
        thread) whose message is older than ``newer_than_ts`` becomes
        'superseded'.  Returns those drafts, to update their cards.
        """
        cutoff = _slack_ts(newer_than_ts)
        async with self._write() as session:
            candidates = await session.execute(
                select(DraftRow.id, ComplaintRow.message_ts)
                .join(ComplaintRow, ComplaintRow.id == DraftRow.complaint_id)
                .where(
                    ComplaintRow.channel_id == channel_id,
                    ComplaintRow.thread_ts == thread_ts,
                    DraftRow.status.in_(OPEN_STATES),
                )
            )
            # Compared as numbers: Slack ts strings only sort as text while
            # their integer parts have the same width.
            stale = [draft_id for draft_id, ts in candidates if _slack_ts(ts) < cutoff]
            if not stale:
                return []
            changed = await session.scalars(
                update(DraftRow)
                .where(DraftRow.id.in_(stale), DraftRow.status.in_(OPEN_STATES))
                .values(status="superseded", updated_at=self._clock())
                .returning(DraftRow)
                .execution_options(synchronize_session=False)
            )
            return sorted((Draft.from_row(row) for row in changed), key=lambda d: d.id)

"""Draft versions of a complaint's reply: creation, results, cards, superseding.

A complaint normally has one draft; a Retry after a failure adds a version
(2, 3, ...) that supersedes the failed one and keeps its card.  A draft job
re-run after a crash finds its drafting row again, or a draft already past
it, instead of adding one, so one acked event posts one card.

Every change of a draft's state is ``move_update``: the conditional UPDATE
whose allowed source states come from the table in ``app.domain.draft_life``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, Update, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.draft_life import (
    EDITABLE,
    FINAL,
    DraftMove,
    DraftState,
    sources_of,
    target_of,
)
from app.domain.models import DraftResult
from app.store.records import Complaint, Draft, DraftStateError
from app.store.sessions import StoreSessions
from app.store.tables import ComplaintRow, DecisionRow, DraftRow

_DRAFTS = cast(Table, DraftRow.__table__)
# Built once: on the card path, building a statement cost more CPU than running it.
_SET_CARD = (
    update(_DRAFTS)
    .where(_DRAFTS.c.id == bindparam("p_id"))
    .values(card_channel=bindparam("p_channel"), card_ts=bindparam("p_ts"),
            updated_at=bindparam("p_updated_at"))
)
_VERSION_RACES = 3
# Drafts at rest (not being drafted, failed or in flight): what an agent last saw.
_REPLAYABLE = FINAL | EDITABLE


def move_update(move: DraftMove, *where: ColumnElement[bool]) -> Update:
    """``UPDATE drafts SET status = <target> WHERE status IN <sources> AND where...``.

    The caller adds its other ``.values(...)`` and ``.returning(...)``; a row
    that was not in a source state is left alone and not returned, which is
    how two racing clicks or workers learn which of them moved the draft.
    """
    return (
        update(DraftRow)
        .where(DraftRow.status.in_(sorted(sources_of(move))), *where)
        .values(status=target_of(move).value)
        .execution_options(synchronize_session=False)
    )


def result_columns(result: DraftResult) -> dict[str, Any]:
    """The draft columns a pipeline result fills, as JSON-ready values."""
    return {
        "text": result.text,
        "offers": [offer.model_dump(mode="json") for offer in result.offers],
        "checklist": {step.value: done for step, done in result.checklist.items()},
        "flags": [flag.model_dump(mode="json") for flag in result.flags],
        "triage": result.triage.model_dump(mode="json"),
        "follow_up": result.follow_up,
        "tone": result.tone,
        "prompt_version": result.prompt_version,
        "playbook": result.playbook or None,
        "model": result.model,
        "prompt_tokens": result.usage.prompt_tokens,
        "completion_tokens": result.usage.completion_tokens,
        "llm_ms": result.llm_ms,
        "error": None,
    }


def _slack_ts(ts: str) -> Decimal | None:
    """A Slack ts as a number; None for the made-up ids of CLI complaints."""
    try:
        return Decimal(ts)
    except InvalidOperation:
        return None


class DraftQueries(StoreSessions):
    async def start_draft(self, *, complaint_id: int) -> Draft:
        """The draft a draft job should fill for this complaint.

        - no draft yet: version 1, drafting (or superseded straight away
          when the customer already wrote again further down the thread);
        - a drafting one: that same row (the job is re-run after a crash);
        - newest version failed: a new drafting version (Retry) that
          supersedes it and keeps its card;
        - otherwise (pending, sending, sent, discarded, superseded): the
          newest version unchanged; the caller sees it is not drafting
          and has nothing to do.

        Raises ``LookupError`` for an unknown complaint.
        """
        for race in range(_VERSION_RACES):
            try:
                return await self._start_draft_once(complaint_id)
            except IntegrityError:
                # Another worker inserted the same version first; its row is
                # the drafting one we will find on the next pass.
                if race == _VERSION_RACES - 1:
                    raise
        raise AssertionError("unreachable")

    async def _start_draft_once(self, complaint_id: int) -> Draft:
        async with self._write() as session:
            return await self._start_draft_in(session, complaint_id)

    async def _start_draft_in(self, session: AsyncSession, complaint_id: int) -> Draft:
        """``start_draft``'s work inside the caller's write transaction."""
        now = self._clock()
        complaint = await session.get(ComplaintRow, complaint_id)
        if complaint is None:
            raise LookupError(f"complaint {complaint_id} does not exist")
        latest = await session.scalar(
            select(DraftRow)
            .where(DraftRow.complaint_id == complaint_id)
            .order_by(DraftRow.version.desc())
            .limit(1)
            .with_for_update()
        )
        if latest is not None and latest.status != DraftState.FAILED:
            return Draft.from_row(latest)
        status = (
            DraftState.SUPERSEDED
            if await self._customer_wrote_since(session, complaint)
            else DraftState.DRAFTING
        )
        if latest is not None:
            await session.execute(
                move_update(DraftMove.SUPERSEDE, DraftRow.id == latest.id)
                .values(updated_at=now)
            )
        row = DraftRow(
            complaint_id=complaint_id,
            version=(latest.version + 1) if latest else 1,
            status=status.value,
            text="",
            final_text=None,
            offers=[],
            checklist={},
            flags=[],
            triage=None,
            follow_up="",
            tone=None,
            prompt_version="",
            model="",
            prompt_tokens=0,
            completion_tokens=0,
            llm_ms=0.0,
            card_channel=latest.card_channel if latest else None,
            card_ts=latest.card_ts if latest else None,
            error=None,
            decided_by=None,
            decided_at=None,
            discard_reason=None,
            sent_channel=None,
            sent_ts=None,
            send_attempts=0,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        await session.flush()
        return Draft.from_row(row)

    async def _customer_wrote_since(self, session: AsyncSession, complaint: ComplaintRow) -> bool:
        """Is there a newer watched message in the complaint's thread?

        ``supersede_thread`` only reaches drafts that exist; this catches a
        complaint whose job had not started when the follow-up arrived.
        """
        later = await session.scalars(
            select(ComplaintRow.message_ts).where(
                ComplaintRow.channel_id == complaint.channel_id,
                ComplaintRow.thread_ts == complaint.thread_ts,
                ComplaintRow.source == "watch",
                ComplaintRow.id != complaint.id,
            )
        )
        mine = _slack_ts(complaint.message_ts)
        if mine is None:
            return False
        return any((theirs := _slack_ts(ts)) is not None and theirs > mine for ts in later)

    async def restart_draft(self, *, draft_id: int) -> Draft | None:
        """Retry a failed draft in place (failed -> drafting); None if it was not failed.

        The next draft job for its complaint then fills this same row.
        """
        async with self._write() as session:
            row = await session.scalar(
                move_update(DraftMove.RETRY, DraftRow.id == draft_id)
                .values(error=None, updated_at=self._clock())
                .returning(DraftRow)
            )
            return Draft.from_row(row) if row is not None else None

    async def set_card(self, *, draft_id: int, channel: str, ts: str) -> None:
        """Remember the Slack message that shows this draft, to update it later."""
        async with self._write_one() as connection:
            await connection.execute(
                _SET_CARD, {"p_id": draft_id, "p_channel": channel, "p_ts": ts,
                            "p_updated_at": self._clock()},
            )

    async def save_draft_result(self, *, draft_id: int, result: DraftResult) -> Draft:
        """Store the reviewed draft and make it pending (ready for an agent).

        Only a drafting row takes the result; if it was superseded or
        discarded while the model was working, it is returned unchanged so
        the caller shows that state instead of a sendable card.
        """
        async with self._write() as session:
            row = await session.scalar(
                move_update(DraftMove.FILL, DraftRow.id == draft_id)
                .values(updated_at=self._clock(), **result_columns(result))
                .returning(DraftRow)
            )
            if row is None:
                row = await session.get(DraftRow, draft_id)
                if row is None:
                    raise DraftStateError(draft_id, None, "cannot save a result")
            return Draft.from_row(row)

    async def replace_result(
        self,
        *,
        draft_id: int,
        result: DraftResult,
        user_id: str,
    ) -> Draft | None:
        """Regenerate in place: a pending draft takes a rewritten result.

        Tokens and model time add up (both calls were paid for); the text
        before and after goes to the audit trail as a 'regenerate' decision.
        None, and no change, if the draft is no longer pending (approved or
        discarded while the model was rewriting).
        """
        now = self._clock()
        async with self._write() as session:
            row = await session.scalar(
                select(DraftRow).where(DraftRow.id == draft_id).with_for_update()
            )
            if row is None or row.status not in EDITABLE:
                return None
            before = row.text
            columns = result_columns(result)
            columns["prompt_tokens"] += row.prompt_tokens
            columns["completion_tokens"] += row.completion_tokens
            columns["llm_ms"] += row.llm_ms
            for name, value in columns.items():
                setattr(row, name, value)
            row.final_text = None
            row.updated_at = now
            session.add(
                DecisionRow(
                    draft_id=draft_id,
                    user_id=user_id,
                    action="regenerate",
                    detail={"before": before, "after": result.text, "tone": result.tone},
                    at=now,
                )
            )
            await session.flush()
            return Draft.from_row(row)

    async def note_draft_error(self, *, draft_id: int, error: str) -> None:
        """Show a problem on the card (a failed rewrite) without changing the draft's state."""
        async with self._write() as session:
            await session.execute(
                update(DraftRow)
                .where(DraftRow.id == draft_id)
                .values(error=error, updated_at=self._clock())
                .execution_options(synchronize_session=False)
            )

    async def mark_draft_failed(self, *, draft_id: int, error: str) -> None:
        """Drafting -> failed; the card offers Retry, which starts a new version."""
        async with self._write() as session:
            await session.execute(
                move_update(DraftMove.FAIL, DraftRow.id == draft_id)
                .values(error=error, updated_at=self._clock())
            )

    async def get_draft(self, *, draft_id: int) -> Draft | None:
        async with self._read() as session:
            row = await session.get(DraftRow, draft_id)
            return Draft.from_row(row) if row is not None else None

    async def latest_draft(self, *, complaint_id: int) -> Draft | None:
        async with self._read() as session:
            row = await session.scalar(
                select(DraftRow)
                .where(DraftRow.complaint_id == complaint_id)
                .order_by(DraftRow.version.desc())
                .limit(1)
            )
            return Draft.from_row(row) if row is not None else None

    async def past_drafts(
        self, *, limit: int, since: datetime | None = None
    ) -> list[tuple[Complaint, Draft]]:
        """The newest drafts that have text, each with its complaint: what ``tactful eval`` replays."""
        query = (
            select(ComplaintRow, DraftRow)
            .join(DraftRow, DraftRow.complaint_id == ComplaintRow.id)
            .where(
                DraftRow.status.in_(sorted(_REPLAYABLE)),
                DraftRow.text != "",
            )
            .order_by(DraftRow.created_at.desc())
            .limit(limit)
        )
        if since is not None:
            query = query.where(DraftRow.created_at >= since)
        async with self._read() as session:
            rows = (await session.execute(query)).all()
        seen: set[int] = set()
        found = []
        for complaint_row, draft_row in rows:
            # One draft per complaint: the newest, which is what the agent last saw.
            if complaint_row.id not in seen:
                seen.add(complaint_row.id)
                found.append((Complaint.from_row(complaint_row), Draft.from_row(draft_row)))
        return found

    async def supersede_thread(
        self,
        *,
        channel_id: str,
        thread_ts: str,
        newer_than_ts: str,
    ) -> list[Draft]:
        """A newer customer message arrived in this thread: retire the open drafts before it.

        Every open (drafting, pending or failed) draft of a complaint in
        (channel, thread) whose message is older than ``newer_than_ts`` is
        superseded.  Returns those drafts, to update their cards.
        """
        cutoff = _slack_ts(newer_than_ts)
        if cutoff is None:
            raise ValueError(f"{newer_than_ts!r} is not a Slack message timestamp")
        async with self._write(urgent=True) as session:
            candidates = await session.execute(
                select(DraftRow.id, ComplaintRow.message_ts)
                .join(ComplaintRow, ComplaintRow.id == DraftRow.complaint_id)
                .where(
                    ComplaintRow.channel_id == channel_id,
                    ComplaintRow.thread_ts == thread_ts,
                    DraftRow.status.in_(sorted(sources_of(DraftMove.SUPERSEDE))),
                )
            )
            # Compared as numbers: Slack ts strings only sort as text while
            # their integer parts have the same width.
            stale = [
                draft_id
                for draft_id, ts in candidates
                if (older := _slack_ts(ts)) is not None and older < cutoff
            ]
            if not stale:
                return []
            changed = await session.scalars(
                move_update(DraftMove.SUPERSEDE, DraftRow.id.in_(stale))
                .values(updated_at=self._clock())
                .returning(DraftRow)
            )
            return sorted((Draft.from_row(row) for row in changed), key=lambda d: d.id)

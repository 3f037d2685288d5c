"""The store work of one drafting job, in as few round trips as it can be done.

A burst of complaints runs hundreds of drafting jobs at once, and on SQLite
every statement is a hop to the connection's worker thread and back, every
transaction a BEGIN and a COMMIT more, and every write a turn at the one
write lock.  So what one step of the job needs is read or written together:

- ``draft_job_start``: the complaint and its newest draft, one read;
- ``save_new_draft``: the permalink, a new draft version and the model's
  result, one write (what ``start_draft`` + ``save_draft_result`` +
  ``set_permalink`` did in three);
- ``draft_and_complaint``: what a card is drawn from, one read.

Reads are Core statements built once (SQLAlchemy reuses their compiled form
and cache key) on a bare connection: no ORM session, identity map or
instance loading.
"""

from __future__ import annotations

import functools
from typing import Any, cast

from sqlalchemy import BindParameter, Select, Table, bindparam, exists, insert, select, update
from sqlalchemy.exc import IntegrityError

from app.domain.draft_life import DraftMove, DraftState, target_of
from app.domain.models import DraftResult
from app.store.drafts import DraftQueries, move_update, result_columns
from app.store.records import Complaint, Draft
from app.store.sessions import CoreConnection
from app.store.tables import ComplaintRow, DraftRow

_COMPLAINTS = cast(Table, ComplaintRow.__table__)
_DRAFTS = cast(Table, DraftRow.__table__)
_OTHERS = _COMPLAINTS.alias("others")
_KEEP_PERMALINK = (
    update(_COMPLAINTS)
    .where(_COMPLAINTS.c.id == bindparam("p_id"), _COMPLAINTS.c.permalink.is_(None))
    .values(permalink=bindparam("p_permalink"))
)

_COMPLAINT_BY_ID: Select[tuple[object, ...]] = select(_COMPLAINTS).where(
    _COMPLAINTS.c.id == bindparam("complaint_id")
)
_NEWEST_DRAFT: Select[tuple[object, ...]] = (
    select(_DRAFTS)
    .where(_DRAFTS.c.complaint_id == bindparam("complaint_id"))
    .order_by(_DRAFTS.c.version.desc())
    .limit(1)
)
_DRAFT_BY_ID: Select[tuple[object, ...]] = select(_DRAFTS).where(
    _DRAFTS.c.id == bindparam("draft_id")
)


class DraftingJobQueries(DraftQueries):
    async def draft_job_start(self, *, complaint_id: int) -> tuple[Complaint | None, Draft | None]:
        """The complaint and its newest draft (None when it has none yet), in one read."""
        params = {"complaint_id": complaint_id}
        async with self._read_core() as connection:
            complaint = (await connection.execute(_COMPLAINT_BY_ID, params)).first()
            if complaint is None:
                return None, None
            draft = (await connection.execute(_NEWEST_DRAFT, params)).first()
        return (
            Complaint.from_row(complaint),  # type: ignore[arg-type]
            Draft.from_row(draft) if draft is not None else None,  # type: ignore[arg-type]
        )

    async def draft_and_complaint(self, *, draft_id: int) -> tuple[Draft, Complaint] | None:
        """A draft and its complaint, in one read; None when either is gone."""
        async with self._read_core() as connection:
            draft = (await connection.execute(_DRAFT_BY_ID, {"draft_id": draft_id})).first()
            if draft is None:
                return None
            complaint = (
                await connection.execute(_COMPLAINT_BY_ID, {"complaint_id": draft.complaint_id})
            ).first()
        if complaint is None:
            return None
        return Draft.from_row(draft), Complaint.from_row(complaint)  # type: ignore[arg-type]

    async def save_new_draft(
        self, *, complaint_id: int, result: DraftResult, permalink: str | None = None,
    ) -> Draft | None:
        """Store the model's result as the complaint's pending draft, in one transaction.

        The version is chosen as ``start_draft`` chooses it (a re-run fills the
        drafting row it left, a Retry adds a version).  Returns the pending
        draft, or None, and nothing stored but the permalink, when there is
        nothing to fill: a draft past drafting exists, or the customer wrote
        again further down the thread.  ``permalink`` is kept on the complaint
        if it has none.
        """
        for race in range(3):
            try:
                return await self._save_new_draft_once(complaint_id, result, permalink)
            except IntegrityError:
                # Another worker inserted the same version first; the next pass finds its row.
                if race == 2:
                    raise
        raise AssertionError("unreachable")

    async def _save_new_draft_once(
        self, complaint_id: int, result: DraftResult, permalink: str | None,
    ) -> Draft | None:
        # The usual case, a complaint's first draft, on a bare connection with
        # statements built once; anything else takes the version choice below.
        # Without a link to keep it is one statement: on PostgreSQL, one round trip.
        writer = self._write_core if permalink else self._write_one
        async with writer() as connection:
            if permalink:
                await connection.execute(
                    _KEEP_PERMALINK, {"p_id": complaint_id, "p_permalink": permalink}
                )
            first = await self._insert_first_draft(connection, complaint_id, result)
            if first is not None:
                return first
        async with self._write() as session:
            draft = await self._start_draft_in(session, complaint_id)
            if draft.status != DraftState.DRAFTING:
                return None
            row = (
                await session.execute(
                    move_update(DraftMove.FILL, DraftRow.id == draft.id)
                    .values(updated_at=self._clock(), **result_columns(result))
                    .returning(*_DRAFTS.c)
                )
            ).first()
            # The row was drafting a statement ago, in this same transaction.
            assert row is not None
            return Draft.from_row(row)  # type: ignore[arg-type]

    async def _insert_first_draft(
        self, connection: CoreConnection, complaint_id: int, result: DraftResult
    ) -> Draft | None:
        """The usual case in one statement: the complaint's first draft, stored as pending.

        Only when the complaint has no draft yet and nobody else wrote in its
        thread (so nothing can be newer); otherwise None, and ``_start_draft_in``
        decides the version and whether the customer wrote since, as before.
        """
        now = self._clock()
        values: dict[str, object] = {
            **_FIRST_DRAFT_DEFAULTS, **result_columns(result),
            "complaint_id": complaint_id, "status": target_of(DraftMove.FILL).value,
            "created_at": now, "updated_at": now,
        }
        names = tuple(sorted(values))
        params = {f"v_{name}": value for name, value in values.items()}
        row = (await connection.execute(_first_draft_statement(names), params)).first()
        return Draft.from_row(row) if row is not None else None  # type: ignore[arg-type]


@functools.cache
def _first_draft_statement(names: tuple[str, ...]) -> Any:
    """INSERT … SELECT of a first draft whose columns are ``names`` (one per result shape)."""
    complaint_id: BindParameter[int] = bindparam("v_complaint_id")
    source = select(
        *(bindparam(f"v_{name}", type_=_DRAFTS.c[name].type) for name in names)
    ).where(
        _COMPLAINTS.c.id == complaint_id,
        ~exists().where(_DRAFTS.c.complaint_id == complaint_id),
        ~exists().where(
            _OTHERS.c.channel_id == _COMPLAINTS.c.channel_id,
            _OTHERS.c.thread_ts == _COMPLAINTS.c.thread_ts,
            _OTHERS.c.source == "watch",
            _OTHERS.c.id != complaint_id,
        ),
    )
    return (
        insert(_DRAFTS)
        .from_select([_DRAFTS.c[name] for name in names], source)
        .returning(*_DRAFTS.c)
    )


# What ``_start_draft_in`` gives a new version, less what the model's result fills.
_FIRST_DRAFT_DEFAULTS: dict[str, object] = {
    "version": 1, "final_text": None, "card_channel": None, "card_ts": None,
    "decided_by": None, "decided_at": None, "discard_reason": None, "sent_channel": None,
    "sent_ts": None, "send_attempts": 0,
}

"""What code, not the model, decides about a brief: which items are traceable, which promises are late.

A model summarizing a long thread can cite a message that does not exist
(or a customer can type text that looks like an id).  Every item must rest
on messages of the thread: one citing nothing, or anything unknown, is
dropped, and the count is shown to the reader.  A promise's due time is
read from the model's ISO date and compared with the clock here, so
"passed" is never the model's guess.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, time
from typing import TypeVar

from app.domain.models import BriefItem, BriefOutput, OpenPromise, PromiseItem

Cited = TypeVar("Cited", BriefItem, PromiseItem)


def _traceable(items: Sequence[Cited], known: set[str]) -> tuple[list[Cited], int]:
    kept = [
        item.model_copy(update={"refs": list(dict.fromkeys(r.strip() for r in item.refs))})
        for item in items
        if item.refs and all(ref.strip() in known for ref in item.refs)
    ]
    return kept, len(items) - len(kept)


def keep_traceable(output: BriefOutput, known: set[str]) -> tuple[BriefOutput, int]:
    """``output`` with only the items whose refs all name messages of the thread; how many went."""
    timeline, lost_timeline = _traceable(output.timeline, known)
    offered, lost_offered = _traceable(output.offered, known)
    declined, lost_declined = _traceable(output.declined, known)
    promises, lost_promises = _traceable(output.open_promises, known)
    kept = output.model_copy(
        update={
            "timeline": timeline,
            "offered": offered,
            "declined": declined,
            "open_promises": promises,
        }
    )
    return kept, lost_timeline + lost_offered + lost_declined + lost_promises


def due_time(due: str | None) -> datetime | None:
    """``2026-11-20`` (the end of that day, UTC) or ``2026-11-20T17:00``; None when unreadable."""
    if not due or not due.strip():
        return None
    text = due.strip().replace("Z", "+00:00")
    try:
        if len(text) == 10:
            return datetime.combine(datetime.fromisoformat(text).date(), time.max, tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def open_promises(promises: Iterable[PromiseItem], *, now: datetime) -> list[OpenPromise]:
    """Each promise with its due time resolved and ``passed`` judged against ``now``."""
    resolved = []
    for promise in promises:
        due_at = due_time(promise.due)
        resolved.append(
            OpenPromise(
                **promise.model_dump(),
                due_at=due_at,
                passed=None if due_at is None else due_at < now,
            )
        )
    return resolved

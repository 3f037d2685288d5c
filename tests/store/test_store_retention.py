"""Data is kept for the retention period, then deleted with everything made from it."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import SteppingClock, StoreFactory, StoreOpener


async def test_complaints_older_than_the_cutoff_go_with_their_drafts_trail_and_jobs(
    open_store: StoreOpener, clock: SteppingClock, factory: StoreFactory,
) -> None:
    store = await open_store(clock=clock)
    old_ids = []
    for n in range(5):
        draft_id = await factory.pending_draft(store, f"1712000000.00010{n}")
        await store.record_edit(draft_id=draft_id, user_id="U_ANA", new_text=f"Sorry, Dana {n}.")
        old_ids.append(draft_id)
    regenerate = await store.enqueue(kind="regenerate", complaint_id=None, draft_id=old_ids[0])
    brief = await store.enqueue(kind="brief", complaint_id=None)
    assert (job := await store.claim_job(worker="w")) is not None
    while job is not None:
        assert await store.finish_job(job_id=job.id, worker="w")
        job = await store.claim_job(worker="w")
    queued_brief = await store.enqueue(kind="brief", complaint_id=None)
    clock.advance(timedelta(days=91).total_seconds())
    kept = await factory.pending_draft(store, "1719000000.000100")
    await store.record_edit(draft_id=kept, user_id="U_ANA", new_text="Still here.")

    # Small batches: each is one short transaction, and they add up.
    removed = await store.purge_older_than(clock.now - timedelta(days=90), batch=2)

    assert removed == {"complaints": 5, "drafts": 5, "decisions": 5, "jobs": 7}
    for draft_id in old_ids:
        assert await store.get_draft(draft_id=draft_id) is None
        assert await store.decisions(draft_id=draft_id) == []
    assert await store.get_job(job_id=regenerate) is None
    assert await store.get_job(job_id=brief) is None
    # A job not run yet is left to run; the newer complaint keeps all it has.
    assert await store.get_job(job_id=queued_brief) is not None
    assert await store.get_draft(draft_id=kept) is not None
    assert len(await store.decisions(draft_id=kept)) == 1
    assert await store.purge_older_than(clock.now - timedelta(days=90)) == dict.fromkeys(
        ("complaints", "drafts", "decisions", "jobs"), 0)

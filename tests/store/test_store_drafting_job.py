"""A drafting job's store steps, each one round trip: what they read and what they keep."""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING

import pytest

from app.store import Store

if TYPE_CHECKING:
    from conftest import StoreFactory, StoreOpener

LINK = "https://acme.slack.com/archives/C_SUPPORT/p1712000000000100"


async def test_the_result_link_and_version_are_stored_together_and_read_back(
    store: Store, factory: StoreFactory,
) -> None:
    accepted = await store.accept_complaint(complaint=factory.complaint())
    assert accepted is not None
    complaint_id = accepted.complaint_id
    complaint, latest = await store.draft_job_start(complaint_id=complaint_id)
    assert complaint == accepted.complaint and latest is None

    saved = await store.save_new_draft(
        complaint_id=complaint_id, result=factory.result(), permalink=LINK
    )

    assert saved is not None and (saved.status, saved.version, saved.can_send) == (
        "pending", 1, True)
    assert saved == await store.get_draft(draft_id=saved.id)
    found = await store.draft_and_complaint(draft_id=saved.id)
    assert found is not None
    draft, with_link = found
    assert draft == saved and with_link.permalink == LINK
    assert await store.draft_job_start(complaint_id=complaint_id) == (with_link, saved)


async def test_a_rerun_after_the_draft_was_stored_stores_nothing_new(
    store: Store, factory: StoreFactory,
) -> None:
    accepted = await store.accept_complaint(complaint=factory.complaint())
    assert accepted is not None
    first = await store.save_new_draft(complaint_id=accepted.complaint_id, result=factory.result())
    assert first is not None

    again = await store.save_new_draft(
        complaint_id=accepted.complaint_id, result=factory.result(text="A second answer."),
        permalink=LINK,
    )

    assert again is None
    assert await store.latest_draft(complaint_id=accepted.complaint_id) == first
    # A link is kept once known, also by a run that stores nothing else.
    complaint = await store.get_complaint(complaint_id=accepted.complaint_id)
    assert complaint is not None and complaint.permalink == LINK


async def test_a_failed_draft_is_superseded_by_a_new_version_with_its_card(
    store: Store, factory: StoreFactory,
) -> None:
    accepted = await store.accept_complaint(complaint=factory.complaint())
    assert accepted is not None
    failed = await store.start_draft(complaint_id=accepted.complaint_id)
    await store.set_card(draft_id=failed.id, channel="C_REVIEW", ts="1712000001.000100")
    await store.mark_draft_failed(draft_id=failed.id, error="model unavailable")

    saved = await store.save_new_draft(complaint_id=accepted.complaint_id, result=factory.result())

    assert saved is not None and (saved.version, saved.status) == (2, "pending")
    assert (saved.card_channel, saved.card_ts) == ("C_REVIEW", "1712000001.000100")
    old = await store.get_draft(draft_id=failed.id)
    assert old is not None and old.status == "superseded"
    assert await store.draft_and_complaint(draft_id=10_000) is None
    assert await store.draft_job_start(complaint_id=10_000) == (None, None)


async def test_a_first_draft_stored_in_one_statement_matches_the_versioned_path(
    store: Store, factory: StoreFactory,
) -> None:
    # Alone in its thread: the one-statement insert. Below an older message of the
    # same thread: the version is chosen row by row. Both must store the same draft.
    alone = await store.accept_complaint(complaint=factory.complaint("1712000000.000100"))
    root = await store.accept_complaint(complaint=factory.complaint("1712000000.000200"))
    below = await store.accept_complaint(complaint=factory.complaint(
        "1712000000.000300", thread_ts="1712000000.000200"))
    assert alone is not None and root is not None and below is not None

    fast = await store.save_new_draft(complaint_id=alone.complaint_id, result=factory.result())
    versioned = await store.save_new_draft(
        complaint_id=below.complaint_id, result=factory.result())

    assert fast is not None and versioned is not None
    same = {"id", "complaint_id", "created_at", "updated_at"}
    assert {k: v for k, v in vars(fast).items() if k not in same} == {
        k: v for k, v in vars(versioned).items() if k not in same}
    assert fast == await store.get_draft(draft_id=fast.id)
    # The thread's root has a newer message below it: nothing to fill, as before.
    assert await store.save_new_draft(complaint_id=root.complaint_id,
                                      result=factory.result()) is None


async def test_sqlite_calls_run_on_the_loop_and_a_write_never_hands_it_over(
    open_store: StoreOpener, database_url: str, factory: StoreFactory,
) -> None:
    # Two stores on one SQLite file, writing at once: a write that let the loop run
    # between its statements and its COMMIT would leave the other store's BEGIN
    # IMMEDIATE waiting on the busy timeout (app/store/inline_sqlite.py).
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite only: PostgreSQL goes through asyncpg")
    one, two = await open_store(), await open_store()
    threads = threading.active_count()

    accepted = await asyncio.gather(*(
        store.accept_complaint(complaint=factory.complaint(f"1712000000.{n:06d}"))
        for n in range(20) for store in (one, two)
    ))

    assert sum(a is not None for a in accepted) == 20
    assert threading.active_count() == threads, "no driver thread per connection"

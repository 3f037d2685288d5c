"""A drafting job's store steps, each one round trip: what they read and what they keep."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.store import Store

if TYPE_CHECKING:
    from conftest import StoreFactory

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

"""A manager's figures from a small, known week of support work."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from app.store import CategoryCount

if TYPE_CHECKING:
    from conftest import SteppingClock, StoreFactory, StoreOpener

    from app.store import Store


async def _a_known_history(store: Store, clock: SteppingClock, factory: StoreFactory) -> None:
    # t=0: a delivery complaint, edited by the agent, sent after 60 s
    crushed = await factory.pending_draft(store, "1712000001.000100", category="delivery")
    clock.advance(60)
    await store.record_edit(draft_id=crushed, user_id="U_ANA", new_text="Dana, so sorry.",
                            offer_ids=["refund"])
    assert await store.claim_for_send(draft_id=crushed, user_id="U_ANA",
                                      final_text="Dana, so sorry.")
    assert await store.mark_sent(draft_id=crushed, attempt=1, channel="C_SUPPORT", ts="1712000061.000100")

    # t=60: a delivery complaint the agent discards after 120 s
    late = await factory.pending_draft(store, "1712000002.000100", category="delivery")
    clock.advance(120)
    assert await store.discard(draft_id=late, user_id="U_BEN", reason="already solved")

    # t=180: a billing complaint sent as drafted after 30 s
    charged = await factory.pending_draft(store, "1712000003.000100", category="billing")
    clock.advance(30)
    sent = await store.get_draft(draft_id=charged)
    assert sent is not None
    assert await store.claim_for_send(draft_id=charged, user_id="U_ANA", final_text=sent.text)
    assert await store.mark_sent(draft_id=charged, attempt=1, channel="C_SUPPORT", ts="1712000091.000100")

    # t=210: a billing complaint regenerated once and still waiting
    twice = await factory.pending_draft(store, "1712000004.000100", category="billing")
    clock.advance(10)
    assert await store.replace_result(draft_id=twice, user_id="U_BEN", result=factory.result(
        category="billing", tokens=(100, 50)))

    # t=220: a complaint still being drafted
    accepted = await store.accept_complaint(complaint=factory.complaint("1712000005.000100"))
    assert accepted is not None
    await store.start_draft(complaint_id=accepted.complaint_id)


async def test_stats_over_a_known_history(
    open_store: StoreOpener, clock: SteppingClock, factory: StoreFactory,
) -> None:
    store = await open_store(clock=clock)
    await _a_known_history(store, clock, factory)

    stats = await store.stats()

    assert (stats.complaints, stats.drafts_total) == (5, 5)
    assert stats.by_status == {"discarded": 1, "drafting": 1, "pending": 1, "sent": 2}
    assert (stats.sent, stats.discarded, stats.pending) == (2, 1, 1)
    assert stats.acceptance_rate == pytest.approx(2 / 3)
    assert (stats.edited_before_send, stats.edit_rate) == (1, 0.5)
    assert stats.by_category == [
        CategoryCount(category="billing", complaints=2, sent=1),
        CategoryCount(category="delivery", complaints=2, sent=1),
    ]
    assert stats.top_recurring_categories == ["billing", "delivery"]
    assert stats.median_seconds_to_decision == 60.0  # of 60, 120 and 30
    assert stats.median_seconds_to_reply == 45.0  # of 60 and 30
    assert (stats.prompt_tokens, stats.completion_tokens) == (4 * 300 + 100, 4 * 120 + 50)
    assert stats.total_tokens == 1300 + 530
    assert stats.actions == {"approve": 2, "discard": 1, "edit": 1, "regenerate": 1}


async def test_stats_since_a_moment_count_only_what_came_after(
    open_store: StoreOpener, clock: SteppingClock, factory: StoreFactory,
) -> None:
    store = await open_store(clock=clock)
    start = clock.now
    await _a_known_history(store, clock, factory)

    stats = await store.stats(since=start + timedelta(seconds=180))

    assert (stats.complaints, stats.drafts_total, stats.sent, stats.discarded) == (3, 3, 1, 0)
    assert stats.acceptance_rate == 1.0
    assert stats.edit_rate == 0.0
    assert stats.by_category == [CategoryCount(category="billing", complaints=2, sent=1)]
    assert stats.actions == {"approve": 1, "regenerate": 1}


async def test_stats_of_an_empty_store_say_no_data_rather_than_zero(store: Store) -> None:
    stats = await store.stats()
    assert (stats.complaints, stats.drafts_total, stats.total_tokens) == (0, 0, 0)
    assert stats.acceptance_rate is None and stats.edit_rate is None
    assert stats.median_seconds_to_decision is None and stats.by_category == []

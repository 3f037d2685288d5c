"""Stored briefs: one row per thread, replaced in place, deleted after the retention period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.store import Store


async def test_a_thread_keeps_one_brief_replaced_in_place_then_purged(database_url: str) -> None:
    now = datetime(2025, 12, 1, tzinfo=UTC)
    clock = [now]
    store = await Store.open(database_url, clock=lambda: clock[0])
    try:
        first = await store.save_brief(
            channel_id="C1", thread_ts="1.000001", last_ts="9.000001", message_count=9,
            brief={"issue": "x"}, refs=["1.000001"], prompt_version="v1", requested_by="UA",
        )
        clock[0] = now + timedelta(days=1)
        second = await store.save_brief(
            channel_id="C1", thread_ts="1.000001", last_ts="12.000001", message_count=12,
            brief={"issue": "y"}, refs=["12.000001"], prompt_version="v2", requested_by="UB",
        )
        found = await store.find_brief(channel_id="C1", thread_ts="1.000001")

        assert second.id == first.id and found == second
        assert (found.last_ts, found.brief, found.refs) == ("12.000001", {"issue": "y"}, ["12.000001"])
        assert await store.find_brief(channel_id="C1", thread_ts="2.000001") is None
        assert await store.purge_briefs(before=now + timedelta(hours=12)) == 0
        assert await store.purge_briefs(before=now + timedelta(days=2)) == 1
        assert await store.get_brief(brief_id=first.id) is None
    finally:
        await store.close()

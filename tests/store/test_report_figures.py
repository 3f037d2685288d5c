"""``Store.report`` over a known day of support work: every figure checked exactly.

The sends go through the same follow-through as the bot (``FollowThrough``
stores the edit size when a reply is sent), on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from app.domain.edit_diff import edit_size
from app.usecases.commitments import FollowThrough, TimeZones

if TYPE_CHECKING:
    from conftest import SteppingClock, StoreFactory, StoreOpener

    from app.store import Store

MODEL = "We apologise for any inconvenience. Your refund is on its way."
EDITED = "Your refund is on its way, Dana."


class Day:
    """A known day: who sent, edited or discarded what, and when."""

    def __init__(self, store: Store, clock: SteppingClock, factory: StoreFactory) -> None:
        self.store, self.clock, self.factory = store, clock, factory
        self.follow = FollowThrough(store, zones=TimeZones(), remind_before=timedelta(hours=1),
                                    follow_up_hours=0)
        self.start = clock.now

    def at(self, seconds: float) -> None:
        self.clock.now = self.start + timedelta(seconds=seconds)

    async def draft(self, ts: str, *, category: str, text: str = MODEL,
                    channel: str = "C_SUPPORT", prompt: str | None = None) -> int:
        result = self.factory.result(text=text, category=category)
        if prompt:
            result = result.model_copy(update={"prompt_version": prompt, "playbook": "acme"})
        return await self.factory.pending_draft(
            self.store, complaint=self.factory.complaint(ts, channel=channel), result=result)

    async def send(self, draft_id: int, *, edited_to: str | None = None) -> None:
        if edited_to is not None:
            await self.store.record_edit(draft_id=draft_id, user_id="U_ANA", new_text=edited_to)
        draft = await self.store.get_draft(draft_id=draft_id)
        assert draft is not None
        assert (await self.store.claim_for_send(
            draft_id=draft_id, user_id="U_ANA", final_text=draft.text)).draft
        assert await self.store.mark_sent(draft_id=draft_id, attempt=1, channel="C", ts="1.0")
        await self.follow(draft_id=draft_id)


async def a_known_day(store: Store, clock: SteppingClock, factory: StoreFactory) -> Day:
    day = Day(store, clock, factory)
    day.at(-12 * 3600)  # the day before: one delivery complaint, for the trend
    await day.draft("1700000000.000001", category="delivery")
    day.at(0)
    a = await day.draft("1700000001.000001", category="delivery")
    day.at(60)
    await day.send(a, edited_to=EDITED)                       # 60 s, edited
    day.at(100)
    a2 = await day.draft("1700000002.000001", category="delivery")
    day.at(200)
    b = await day.draft("1700000003.000001", category="delivery")
    assert await store.discard(draft_id=b, user_id="U_BEN", reason="already solved")
    day.at(500)
    await day.send(a2, edited_to=EDITED)                      # 400 s, edited
    day.at(600)
    c = await day.draft("1700000004.000001", category="billing",
                        text="We will refund you by Friday.", prompt="draft@new")
    day.at(630)
    await day.send(c)                                         # 30 s, as drafted
    d = await day.draft("1700000005.000001", category="billing")
    assert await store.discard(draft_id=d, user_id="U_BEN", reason="wrong tone: too chirpy")
    e = await day.draft("1700000006.000001", category="billing")
    assert await store.discard(draft_id=e, user_id="U_BEN", reason="already solved")
    day.at(700)
    f = await day.draft("1700000007.000001", category="delivery", channel="C_OTHER",
                        text="Your refund is on its way.")
    day.at(700 + 7200)
    await day.send(f)                                         # 2 h, as drafted
    day.at(9000)
    return day


def test_the_edit_in_this_day_changes_42_characters() -> None:
    # Deleted "We apologise for any inconvenience. " (36) and inserted ", Dana" (6).
    assert edit_size(MODEL, EDITED).chars == 42


async def test_report_figures_over_a_known_day(
    open_store: StoreOpener, clock: SteppingClock, factory: StoreFactory,
) -> None:
    store = await open_store(clock=clock)
    day = await a_known_day(store, clock, factory)

    report = await store.report(since=day.start, until=day.start + timedelta(days=1))

    assert report.complaints == 7
    overall = report.overall
    assert (overall.drafts, overall.sent, overall.discarded, overall.edited) == (7, 4, 3, 2)
    assert overall.acceptance_rate == pytest.approx(4 / 7)
    assert overall.edit_rate == pytest.approx(0.5)
    assert overall.avg_edit_chars == pytest.approx(21.0)
    assert overall.avg_edit_ratio == pytest.approx(2 * edit_size(MODEL, EDITED).ratio / 4, abs=1e-4)
    assert [(g.key, g.drafts, g.sent) for g in report.by_prompt_version] == [
        ("draft@3f2a9c", 6, 3), ("draft@new", 1, 1)]
    assert [(g.key, g.drafts, g.sent) for g in report.by_playbook] == [
        ("(not recorded)", 6, 3), ("acme", 1, 1)]
    assert [(g.key, g.drafts, g.sent, g.discarded, g.edited) for g in report.by_category] == [
        ("delivery", 4, 3, 1, 2), ("billing", 3, 1, 2, 0)]
    # "wrong tone: too chirpy" is the modal's reason plus the agent's note: counted by reason.
    assert report.discard_reasons == [("already solved", 2), ("wrong tone", 1)]
    assert report.replies == 4
    assert report.avg_seconds_to_reply == pytest.approx((60 + 400 + 30 + 7200) / 4)
    assert report.reply_buckets == [("< 5 min", 2), ("5–15 min", 1), ("15–60 min", 0),
                                    ("1–4 h", 1), ("4–24 h", 0), ("> 24 h", 0)]
    assert [(r.category, r.complaints, r.previous, r.trend) for r in report.recurring] == [
        ("delivery", 4, 1, 3.0), ("billing", 3, 0, None)]
    assert report.phrase_sample == 2
    assert ("for any inconvenience", 2) in report.phrases_deleted
    assert ("we apologise for", 2) in report.phrases_deleted
    assert report.phrases_added == [("dana", 2)]
    # "by Friday" in the billing reply is a commitment waiting for its reminder.
    assert report.commitments == {"open": 1}


async def test_report_for_one_channel_leaves_the_others_out(
    open_store: StoreOpener, clock: SteppingClock, factory: StoreFactory,
) -> None:
    store = await open_store(clock=clock)
    day = await a_known_day(store, clock, factory)

    report = await store.report(since=day.start, until=day.start + timedelta(days=1),
                                channel="C_SUPPORT")

    assert report.complaints == 6
    assert (report.overall.drafts, report.overall.sent) == (6, 3)
    assert report.replies == 3
    assert report.avg_seconds_to_reply == pytest.approx((60 + 400 + 30) / 3)
    assert [(r.category, r.complaints, r.previous) for r in report.recurring] == [
        ("billing", 3, 0), ("delivery", 3, 1)]


async def test_an_empty_period_reports_zeros_not_errors(
    open_store: StoreOpener, clock: SteppingClock,
) -> None:
    store = await open_store(clock=clock)

    report = await store.report(since=clock.now - timedelta(days=30))

    assert report.complaints == 0 and report.overall.drafts == 0
    assert report.overall.acceptance_rate is None and report.avg_seconds_to_reply is None
    assert report.discard_reasons == [] and report.recurring == [] and report.phrases_added == []

"""One customer message gets at most one reply, however many ways an agent asked for a draft.

And each send attempt is finished only by the answer to that attempt.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from app.domain.draft_life import DraftState

if TYPE_CHECKING:
    from conftest import SteppingClock, StoreFactory, StoreOpener

    from app.store import Store

MESSAGE = "1712000000.000100"


async def _two_drafts_of_one_message(store: Store, factory: StoreFactory) -> tuple[int, int]:
    """An agent's shortcut came first, then the watch delivery of the same message."""
    asked = await factory.pending_draft(
        store, complaint=factory.complaint(MESSAGE, source="shortcut"))
    watched = await factory.pending_draft(store, complaint=factory.complaint(MESSAGE))
    return asked, watched


async def test_a_message_drafted_by_shortcut_and_by_watch_is_answered_once(
    store: Store, factory: StoreFactory,
) -> None:
    asked, watched = await _two_drafts_of_one_message(store, factory)

    first = await store.claim_for_send(draft_id=asked, user_id="U_ANA", final_text="Hi")
    second = await store.claim_for_send(draft_id=watched, user_id="U_BEN", final_text="Hi")

    assert first.won and not second
    assert (second.state, second.changed) == (DraftState.PENDING, False)
    # Slack refused the first reply: the other card may answer instead.
    assert await store.release_send(draft_id=asked, attempt=1, error="ratelimited")
    third = await store.claim_for_send(draft_id=watched, user_id="U_BEN", final_text="Hi")
    assert third.won
    assert await store.mark_sent(draft_id=watched, attempt=1, channel="C_SUPPORT", ts="1.1")
    late = await store.claim_for_send(draft_id=asked, user_id="U_ANA", final_text="Hi")
    assert not late and late.state == DraftState.PENDING


async def test_two_instances_approving_two_cards_of_one_message_send_one_reply(
    open_store: StoreOpener, factory: StoreFactory,
) -> None:
    first, second = await open_store(), await open_store()
    asked, watched = await _two_drafts_of_one_message(first, factory)

    claims = await asyncio.gather(*[
        (first if i % 2 else second).claim_for_send(
            draft_id=asked if i % 3 else watched, user_id=f"U{i}", final_text="Hi")
        for i in range(16)
    ])

    assert sum(claim.won for claim in claims) == 1
    states = [(await first.get_draft(draft_id=d)) for d in (asked, watched)]
    assert sorted(d.status for d in states if d is not None) == ["pending", "sending"]


async def test_a_request_for_a_message_already_stored_is_refused_and_points_to_it(
    store: Store, factory: StoreFactory,
) -> None:
    watched = await store.accept_complaint(complaint=factory.complaint(MESSAGE))
    assert watched is not None

    for source in ("shortcut", "mention", "command"):
        again = await store.accept_complaint(complaint=factory.complaint(MESSAGE, source=source))
        assert again is None, source
    existing = await store.existing_for_message(channel_id="C_SUPPORT", message_ts=MESSAGE)
    assert existing == watched.complaint
    assert await store.pending_job_count() == 1
    # Another message of the same thread is a request of its own.
    other = await store.accept_complaint(complaint=factory.complaint(
        "1712000000.000200", thread_ts=MESSAGE, source="mention"))
    assert other is not None
    assert await store.existing_for_message(channel_id="C_SUPPORT",
                                            message_ts="1712000009.000000") is None


async def test_requests_racing_on_one_message_from_two_instances_store_one_complaint(
    open_store: StoreOpener, factory: StoreFactory,
) -> None:
    first, second = await open_store(), await open_store()
    sources = ["shortcut", "mention", "command"]
    accepted = await asyncio.gather(*[
        (first if i % 2 else second).accept_complaint(
            complaint=factory.complaint(MESSAGE, source=sources[i % 3]))
        for i in range(12)
    ])
    assert sum(result is not None for result in accepted) == 1
    assert await first.pending_job_count() == 1


async def test_a_late_answer_to_an_older_attempt_changes_nothing(
    store: Store, factory: StoreFactory,
) -> None:
    draft_id = await factory.pending_draft(store)
    assert await store.claim_for_send(draft_id=draft_id, user_id="U_ANA", final_text="Hi")

    assert await store.release_send(draft_id=draft_id, attempt=2, error="x") is False
    assert await store.release_send(draft_id=draft_id, attempt=1, error="not_in_channel")
    assert await store.release_send(draft_id=draft_id, attempt=1, error="again") is False
    retry = await store.claim_for_send(draft_id=draft_id, user_id="U_ANA", final_text="Hi")
    assert retry.draft is not None and retry.draft.send_attempts == 2

    # The first attempt's sender answers late: the second attempt is untouched.
    assert await store.mark_sent(draft_id=draft_id, attempt=1, channel="C", ts="1.1") is False
    assert await store.release_send(draft_id=draft_id, attempt=1, error="late") is False
    sending = await store.get_draft(draft_id=draft_id)
    assert sending is not None and sending.status == DraftState.SENDING
    assert await store.mark_sent(draft_id=draft_id, attempt=2, channel="C", ts="2.2")
    sent = await store.get_draft(draft_id=draft_id)
    assert sent is not None and (sent.status, sent.sent_ts) == (DraftState.SENT, "2.2")
    trail = [(d.action, d.detail.get("attempt")) for d in await store.decisions(draft_id=draft_id)]
    assert trail == [("approve", 1), ("send_failed", 1), ("approve", 2)]


async def test_the_first_claim_time_is_kept_for_looking_for_the_post_later(
    open_store: StoreOpener, clock: SteppingClock, factory: StoreFactory,
) -> None:
    store = await open_store(clock=clock)
    draft_id = await factory.pending_draft(store)
    first_claim = clock.now
    assert await store.claim_for_send(draft_id=draft_id, user_id="U_ANA", final_text="Hi")
    assert await store.release_send(draft_id=draft_id, attempt=1, error="ratelimited")
    clock.advance(600)
    again = await store.claim_for_send(draft_id=draft_id, user_id="U_ANA", final_text="Hi")
    assert again.draft is not None and again.draft.claimed_at == first_claim

    clock.advance(300)
    stuck = await store.stuck_sends(older_than_s=120)
    assert [(d.id, d.send_attempts, d.claimed_at) for d in stuck] == [
        (draft_id, 2, first_claim)]


async def test_a_claim_on_text_the_agent_did_not_see_is_refused_as_changed(
    store: Store, factory: StoreFactory,
) -> None:
    draft_id = await factory.pending_draft(store)
    seen = await store.get_draft(draft_id=draft_id)
    assert seen is not None
    await store.record_edit(draft_id=draft_id, user_id="U_BEN", new_text="Edited meanwhile.")

    refused = await store.claim_for_send(draft_id=draft_id, user_id="U_ANA",
                                         final_text=seen.text, text=seen.text)
    assert (refused.won, refused.state, refused.changed) == (False, DraftState.PENDING, True)
    won = await store.claim_for_send(draft_id=draft_id, user_id="U_ANA",
                                     final_text="Edited meanwhile.", text="Edited meanwhile.")
    assert won.draft is not None and won.draft.final_text == "Edited meanwhile."

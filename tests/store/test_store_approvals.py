"""An approval sends once: double clicks, two instances, failed posts, discards, edits."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from app.domain.draft_life import DraftState
from app.domain.models import ProposedOffer

if TYPE_CHECKING:
    from conftest import StoreFactory, StoreOpener

    from app.store import Store


async def test_twenty_clicks_from_two_instances_send_one_reply(
    open_store: StoreOpener, factory: StoreFactory,
) -> None:
    first, second = await open_store(), await open_store()
    draft_id = await factory.pending_draft(first)
    draft = await first.get_draft(draft_id=draft_id)
    assert draft is not None

    claims = await asyncio.gather(*[
        (first if i % 2 else second).claim_for_send(draft_id=draft_id, user_id=f"U{i}",
                                                    final_text=draft.text)
        for i in range(20)
    ])

    winners = [claim.draft for claim in claims if claim.draft is not None]
    assert len(winners) == 1
    winner = winners[0]
    assert (winner.status, winner.send_attempts, winner.final_text) == (
        DraftState.SENDING, 1, draft.text)
    assert winner.decided_by is not None and winner.decided_at is not None
    # Each losing click learns why without reading the draft again: it is being sent.
    assert {claim.state for claim in claims if not claim} == {DraftState.SENDING}


async def test_a_reply_slack_refused_can_be_approved_again_and_then_is_sent(
    store: Store, factory: StoreFactory,
) -> None:
    draft_id = await factory.pending_draft(store)
    claim = await store.claim_for_send(draft_id=draft_id, user_id="U_AGENT", final_text="Hi")
    assert claim.won

    assert await store.release_send(draft_id=draft_id, attempt=1, error="ratelimited")
    released = await store.get_draft(draft_id=draft_id)
    assert released is not None and (released.status, released.error) == (
        "pending", "ratelimited")

    retry = await store.claim_for_send(draft_id=draft_id, user_id="U_AGENT", final_text="Hi")
    assert retry.draft is not None and retry.draft.send_attempts == 2
    assert await store.mark_sent(draft_id=draft_id, attempt=2, channel="C_SUPPORT",
                                 ts="1712000300.000100")

    sent = await store.get_draft(draft_id=draft_id)
    assert sent is not None and (sent.status, sent.sent_channel, sent.sent_ts) == (
        "sent", "C_SUPPORT", "1712000300.000100")
    late = await store.claim_for_send(draft_id=draft_id, user_id="U2", final_text="Hi")
    assert (late.won, late.draft, late.state) == (False, None, DraftState.SENT)
    actions = [d.action for d in await store.decisions(draft_id=draft_id)]
    assert actions == ["approve", "send_failed", "approve"]


async def test_a_discarded_draft_can_never_be_sent(store: Store, factory: StoreFactory) -> None:
    draft_id = await factory.pending_draft(store)

    discarded = await store.discard(draft_id=draft_id, user_id="U_AGENT", reason="duplicate")

    assert discarded is not None and (discarded.status, discarded.discard_reason) == (
        "discarded", "duplicate")
    assert await store.discard(draft_id=draft_id, user_id="U_AGENT", reason="again") is None
    refused = await store.claim_for_send(draft_id=draft_id, user_id="U_AGENT",
                                         final_text=discarded.text)
    assert not refused and refused.state == DraftState.DISCARDED
    assert await store.record_edit(draft_id=draft_id, user_id="U_AGENT", new_text="x",
                                   offer_ids=[]) is None


async def test_a_superseded_draft_can_never_be_sent(store: Store, factory: StoreFactory) -> None:
    draft_id = await factory.pending_draft(store, "1712000000.000100")
    await store.supersede_thread(channel_id="C_SUPPORT", thread_ts="1712000000.000100",
                                 newer_than_ts="1712000005.000000")
    refused = await store.claim_for_send(draft_id=draft_id, user_id="U_AGENT",
                                         final_text="stale")
    assert not refused and refused.state == DraftState.SUPERSEDED
    assert await store.discard(draft_id=draft_id, user_id="U_AGENT", reason="late") is None


async def test_discard_and_approve_racing_have_exactly_one_winner(
    open_store: StoreOpener, factory: StoreFactory,
) -> None:
    first, second = await open_store(), await open_store()
    draft_id = await factory.pending_draft(first)
    approved, discarded = await asyncio.gather(
        first.claim_for_send(draft_id=draft_id, user_id="U1", final_text="Hi"),
        second.discard(draft_id=draft_id, user_id="U2", reason="no"),
    )
    assert approved.won != (discarded is not None)
    winner = await first.get_draft(draft_id=draft_id)
    assert winner is not None
    assert winner.status == (DraftState.SENDING if approved else DraftState.DISCARDED)
    if not approved:
        assert approved.state == DraftState.DISCARDED


async def test_a_claim_on_a_draft_that_does_not_exist_says_so(store: Store) -> None:
    claim = await store.claim_for_send(draft_id=404, user_id="U1", final_text="Hi")
    assert (claim.won, claim.draft, claim.state) == (False, None, None)


async def test_an_edit_keeps_the_text_before_and_after_and_the_chosen_offers(
    store: Store, factory: StoreFactory,
) -> None:
    draft_id = await factory.pending_draft(store)
    original = await store.get_draft(draft_id=draft_id)
    assert original is not None

    edited = await store.record_edit(draft_id=draft_id, user_id="U_AGENT",
                                     new_text="Dana, I'm sorry.", offer_ids=["refund", "credit"])
    assert edited is not None
    assert edited.text == "Dana, I'm sorry." and edited.status == "pending"
    assert [o.offer_id for o in edited.offers] == ["refund", "credit"]

    # The agent changes their mind: an offer dropped by the first edit comes back.
    again = await store.record_edit(draft_id=draft_id, user_id="U_AGENT",
                                    new_text="Dana, I'm so sorry.",
                                    offer_ids=["replacement_express"])
    assert again is not None and [o.label for o in again.offers] == ["Express replacement"]
    with pytest.raises(ValueError, match="free_iphone"):
        await store.record_edit(draft_id=draft_id, user_id="U_AGENT", new_text="x",
                                offer_ids=["free_iphone"])

    trail = await store.decisions(draft_id=draft_id)
    assert [(d.action, d.detail["before"], d.detail["after"]) for d in trail] == [
        ("edit", original.text, "Dana, I'm sorry."),
        ("edit", "Dana, I'm sorry.", "Dana, I'm so sorry."),
    ]
    assert trail[0].detail["offers_after"] == ["refund", "credit"]


async def test_an_agent_picks_other_offers_the_catalog_allowed(
    store: Store, factory: StoreFactory,
) -> None:
    draft_id = await factory.pending_draft(store)
    voucher = ProposedOffer(offer_id="voucher", label="Voucher", amount=15, unit="percent",
                            why_it_helps="Next order is on us, partly.")

    picked = await store.set_offers(draft_id=draft_id, user_id="U_AGENT",
                                    offers=[voucher])
    assert picked is not None and picked.offers == [voucher]
    edited = await store.record_edit(draft_id=draft_id, user_id="U_AGENT",
                                     new_text="New text", offers=[picked.offers[0]])
    assert edited is not None and edited.offers == [voucher] and edited.text == "New text"
    trail = await store.decisions(draft_id=draft_id)
    assert [(d.action, d.detail["offers_after"]) for d in trail] == [
        ("choose_offer", ["voucher"]), ("edit", ["voucher"])]
    # An offer replaced by the choice can still be picked again by id.
    restored = await store.record_edit(draft_id=draft_id, user_id="U_AGENT",
                                       new_text="New text", offer_ids=["refund"])
    assert restored is not None and [o.offer_id for o in restored.offers] == ["refund"]


async def test_a_draft_being_sent_is_final_for_every_other_path(
    store: Store, factory: StoreFactory,
) -> None:
    draft_id = await factory.pending_draft(store)
    claim = await store.claim_for_send(draft_id=draft_id, user_id="U1", final_text="Hi")
    assert claim.draft is not None
    rerun = await store.start_draft(complaint_id=claim.draft.complaint_id)
    assert (rerun.id, rerun.status) == (draft_id, "sending")
    assert await store.discard(draft_id=draft_id, user_id="U2", reason="x") is None
    assert await store.set_offers(draft_id=draft_id, user_id="U2", offers=[]) is None
    other = await factory.pending_draft(store, "1712000009.000100")
    assert await store.mark_sent(draft_id=other, attempt=0, channel="C", ts="1.0") is False
    still = await store.get_draft(draft_id=other)
    assert still is not None and still.status == DraftState.PENDING


async def test_other_decisions_go_to_the_audit_trail(store: Store, factory: StoreFactory) -> None:
    draft_id = await factory.pending_draft(store)
    await store.record_decision(draft_id=draft_id, user_id="U_AGENT", action="regenerate",
                                detail={"tone": "warmer"})
    await store.record_decision(draft_id=draft_id, user_id="U_AGENT", action="copy")
    trail = await store.decisions(draft_id=draft_id)
    assert [(d.action, d.detail) for d in trail] == [
        ("regenerate", {"tone": "warmer"}), ("copy", {})]
    with pytest.raises(ValueError, match="launch"):
        await store.record_decision(draft_id=draft_id, user_id="U_AGENT", action="launch")

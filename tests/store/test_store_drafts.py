"""Draft versions: made by a job, shown on a card, replaced, superseded, kept over restarts."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from app.domain.draft_life import DraftMove, DraftState, sources_of, target_of
from app.domain.models import Step
from app.store import Store
from app.store.drafts import move_update
from app.store.tables import DraftRow

if TYPE_CHECKING:
    from conftest import StoreFactory, StoreOpener


async def test_a_drafted_complaint_reads_back_with_its_domain_objects(
    store: Store, factory: StoreFactory,
) -> None:
    accepted = await store.accept_complaint(complaint=factory.complaint())
    assert accepted is not None
    started = await store.start_draft(complaint_id=accepted.complaint_id)
    assert (started.status, started.version, started.can_send) == ("drafting", 1, False)

    saved = await store.save_draft_result(draft_id=started.id, result=factory.result())

    assert saved.status == "pending" and saved.can_send
    assert [o.offer_id for o in saved.offers] == ["replacement_express", "credit", "refund"]
    assert saved.offers[1].describe() == "Store credit (10 EUR)"
    assert saved.checklist[Step.ACKNOWLEDGE] is True and saved.checklist[Step.CLARIFY] is False
    assert saved.flags[0].code == "needs_escalation"
    assert saved.triage is not None and saved.triage.category == "delivery"
    assert (saved.prompt_version, saved.model, saved.prompt_tokens, saved.llm_ms) == (
        "draft@3f2a9c", "test-model", 300, 842.5)
    assert await store.get_draft(draft_id=saved.id) == saved


async def test_a_job_rerun_after_a_crash_continues_the_same_draft(
    store: Store, factory: StoreFactory,
) -> None:
    accepted = await store.accept_complaint(complaint=factory.complaint())
    assert accepted is not None
    before_crash = await store.start_draft(complaint_id=accepted.complaint_id)
    after_restart = await store.start_draft(complaint_id=accepted.complaint_id)
    assert after_restart.id == before_crash.id and after_restart.version == 1


async def test_a_job_rerun_after_the_card_was_filled_changes_nothing(
    store: Store, factory: StoreFactory,
) -> None:
    draft_id = await factory.pending_draft(store)
    pending = await store.get_draft(draft_id=draft_id)
    assert pending is not None

    rerun = await store.start_draft(complaint_id=pending.complaint_id)

    assert rerun == pending  # same row, still pending: nothing left to draft
    late = await store.save_draft_result(draft_id=draft_id,
                                         result=factory.result(text="a second opinion"))
    assert late.text == pending.text


async def test_regenerating_in_place_rewrites_a_pending_draft_and_keeps_the_cost(
    store: Store, factory: StoreFactory,
) -> None:
    draft_id = await factory.pending_draft(store)
    warmer = factory.result(text="Dana, I'm truly sorry.", tokens=(100, 50))

    rewritten = await store.replace_result(draft_id=draft_id, user_id="U_AGENT",
                                           result=warmer.model_copy(update={"tone": "warmer"}))

    assert rewritten is not None and rewritten.status == "pending"
    assert (rewritten.text, rewritten.tone) == ("Dana, I'm truly sorry.", "warmer")
    assert (rewritten.prompt_tokens, rewritten.completion_tokens) == (400, 170)
    trail = await store.decisions(draft_id=draft_id)
    assert [(d.action, d.detail["after"], d.detail["tone"]) for d in trail] == [
        ("regenerate", "Dana, I'm truly sorry.", "warmer")]

    # A rewrite that fails leaves the draft usable and says why on the card.
    await store.note_draft_error(draft_id=draft_id, error="LLM unavailable")
    noted = await store.get_draft(draft_id=draft_id)
    assert noted is not None and (noted.status, noted.error) == ("pending", "LLM unavailable")

    # A rewrite finishing after the agent approved changes nothing.
    assert await store.claim_for_send(draft_id=draft_id, user_id="U_AGENT",
                                      final_text=rewritten.text)
    assert await store.replace_result(draft_id=draft_id, user_id="U_AGENT",
                                      result=factory.result(text="too late")) is None


async def test_a_failed_draft_is_retried_in_place_or_as_a_new_version(
    store: Store, factory: StoreFactory,
) -> None:
    accepted = await store.accept_complaint(complaint=factory.complaint())
    assert accepted is not None
    first = await store.start_draft(complaint_id=accepted.complaint_id)
    await store.set_card(draft_id=first.id, channel="C_REVIEW", ts="1712000050.000001")
    await store.mark_draft_failed(draft_id=first.id, error="LLM unavailable")
    failed = await store.get_draft(draft_id=first.id)
    assert failed is not None and (failed.status, failed.error) == ("failed", "LLM unavailable")

    # Retry button: the same row goes back to drafting and the next job fills it.
    restarted = await store.restart_draft(draft_id=first.id)
    assert restarted is not None and (restarted.status, restarted.error) == ("drafting", None)
    assert await store.restart_draft(draft_id=first.id) is None
    assert (await store.start_draft(complaint_id=accepted.complaint_id)).id == first.id

    # A job re-queued without a restart makes version 2 on the same card.
    await store.mark_draft_failed(draft_id=first.id, error="LLM unavailable")
    second = await store.start_draft(complaint_id=accepted.complaint_id)
    assert (second.version, second.status, second.card_ts) == (
        2, "drafting", "1712000050.000001")
    old = await store.get_draft(draft_id=first.id)
    assert old is not None and old.status == "superseded"
    latest = await store.latest_draft(complaint_id=accepted.complaint_id)
    assert latest == second


async def test_a_settled_complaint_gets_no_new_draft(store: Store, factory: StoreFactory) -> None:
    draft_id = await factory.pending_draft(store)
    discarded = await store.discard(draft_id=draft_id, user_id="U_AGENT", reason="spam")
    assert discarded is not None

    again = await store.start_draft(complaint_id=discarded.complaint_id)

    assert (again.id, again.status) == (draft_id, "discarded")
    with pytest.raises(LookupError):
        await store.start_draft(complaint_id=9999)


async def test_a_complaint_overtaken_before_its_job_ran_is_born_superseded(
    store: Store, factory: StoreFactory,
) -> None:
    thread = "1712000000.000100"
    first = await store.accept_complaint(complaint=factory.complaint(thread))
    # The customer writes again before any worker picked up the first message.
    await store.supersede_thread(channel_id="C_SUPPORT", thread_ts=thread,
                                 newer_than_ts="1712000030.000100")
    second = await store.accept_complaint(
        complaint=factory.complaint("1712000030.000100", thread_ts=thread))
    assert first is not None and second is not None

    stale = await store.start_draft(complaint_id=first.complaint_id)
    fresh = await store.start_draft(complaint_id=second.complaint_id)

    assert (stale.status, fresh.status) == ("superseded", "drafting")


async def test_a_customer_follow_up_supersedes_the_older_cards_of_that_thread(
    store: Store, factory: StoreFactory,
) -> None:
    thread = "1712000000.000100"
    opening = await factory.pending_draft(store, thread)
    reply_in_thread = await factory.pending_draft(store, "1712000100.000100", thread_ts=thread)
    elsewhere = await factory.pending_draft(store, "1712000000.000200")
    # a ts with one more integer digit: wrong if compared as text
    newer = await factory.pending_draft(store, "9999999999.000100", thread_ts=thread)

    changed = await store.supersede_thread(channel_id="C_SUPPORT", thread_ts=thread,
                                           newer_than_ts="1712000200.000000")

    assert [d.id for d in changed] == [opening, reply_in_thread]
    assert all(d.status == "superseded" and not d.can_send for d in changed)
    for untouched in (elsewhere, newer):
        draft = await store.get_draft(draft_id=untouched)
        assert draft is not None and draft.status == "pending"
    again = await store.supersede_thread(channel_id="C_SUPPORT", thread_ts=thread,
                                         newer_than_ts="1712000200.000000")
    assert again == []


async def test_a_result_arriving_after_the_draft_was_superseded_does_not_revive_it(
    store: Store, factory: StoreFactory,
) -> None:
    accepted = await store.accept_complaint(complaint=factory.complaint("1712000000.000100"))
    assert accepted is not None
    drafting = await store.start_draft(complaint_id=accepted.complaint_id)
    await store.supersede_thread(channel_id="C_SUPPORT", thread_ts="1712000000.000100",
                                 newer_than_ts="1712000001.000000")

    late = await store.save_draft_result(draft_id=drafting.id, result=factory.result())

    assert late.status == "superseded" and not late.can_send


async def test_a_pending_card_survives_a_restart(
    open_store: StoreOpener, factory: StoreFactory,
) -> None:
    before = await open_store()
    draft_id = await factory.pending_draft(before)
    await before.set_card(draft_id=draft_id, channel="C_REVIEW", ts="1712000050.000001")
    await before.close()

    after = await open_store()
    draft = await after.get_draft(draft_id=draft_id)

    assert draft is not None and draft.status == "pending"
    assert (draft.card_channel, draft.card_ts) == ("C_REVIEW", "1712000050.000001")
    assert draft.text == factory.result().text
    complaint = await after.get_complaint(complaint_id=draft.complaint_id)
    assert complaint is not None and complaint.user_name == "Dana"


async def test_a_terminal_complaint_without_a_slack_timestamp_is_drafted(
    store: Store, factory: StoreFactory,
) -> None:
    accepted = await store.accept_complaint(
        complaint=factory.complaint("cli-2f9c", channel="cli", source="cli"))
    assert accepted is not None
    draft = await store.start_draft(complaint_id=accepted.complaint_id)
    assert draft.status == "drafting"


async def test_every_move_changes_a_draft_only_from_the_states_the_table_allows(
    store: Store, factory: StoreFactory,
) -> None:
    draft_id = await factory.pending_draft(store)
    moved: dict[tuple[DraftMove, DraftState], DraftState | None] = {}
    async with store.engine.begin() as connection:
        for move in DraftMove:
            for state in DraftState:
                await connection.execute(
                    update(DraftRow).where(DraftRow.id == draft_id).values(status=state.value))
                after = await connection.scalar(
                    move_update(move, DraftRow.id == draft_id).returning(DraftRow.status))
                moved[move, state] = DraftState(after) if after is not None else None
        await connection.rollback()

    assert moved == {
        (move, state): target_of(move) if state in sources_of(move) else None
        for move in DraftMove for state in DraftState
    }


async def test_the_database_takes_every_state_and_no_other(
    store: Store, factory: StoreFactory,
) -> None:
    draft_id = await factory.pending_draft(store)
    async with store.engine.begin() as connection:
        for state in DraftState:
            await connection.execute(
                update(DraftRow).where(DraftRow.id == draft_id).values(status=state.value))
        await connection.rollback()
    with pytest.raises(IntegrityError):
        async with store.engine.begin() as connection:
            await connection.execute(
                update(DraftRow).where(DraftRow.id == draft_id).values(status="archived"))

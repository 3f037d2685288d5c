"""What the agent sees is what is sent: ``text`` is the one truth, and block flags need an override."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.domain.approval import fingerprint
from app.domain.models import Flag, ProposedOffer, Step

if TYPE_CHECKING:
    from conftest import StoreFactory

    from app.store import Store

UNKNOWN_LINK = Flag(code="needs_escalation", message="Links to evil.example", severity="block")
WARNING = Flag(code="needs_escalation", message="Customer mentions a lawyer.")


async def _blocked_draft(store: Store, factory: StoreFactory) -> int:
    result = factory.result()
    result = result.model_copy(update={"flags": [WARNING, UNKNOWN_LINK]})
    return await factory.pending_draft(store, result=result)


async def test_an_edit_after_a_refused_send_is_what_the_card_shows_and_the_next_send_takes(
    store: Store, factory: StoreFactory,
) -> None:
    draft_id = await factory.pending_draft(store)
    assert await store.claim_for_send(draft_id=draft_id, user_id="U_ANA", final_text="Old")
    assert await store.release_send(draft_id=draft_id, attempt=1, error="ratelimited")
    released = await store.get_draft(draft_id=draft_id)
    assert released is not None and released.final_text is None

    all_done = dict.fromkeys(Step, True)
    edited = await store.record_edit(draft_id=draft_id, user_id="U_ANA", new_text="New text",
                                     flags=[WARNING], checklist=all_done)

    assert edited is not None
    assert (edited.text, edited.final_text, edited.flags, edited.checklist) == (
        "New text", None, [WARNING], all_done)
    result = edited.as_result()
    assert result is not None and result.text == "New text"


async def test_other_offers_with_their_rewritten_text_replace_the_old_ones(
    store: Store, factory: StoreFactory,
) -> None:
    draft_id = await factory.pending_draft(store)
    voucher = ProposedOffer(offer_id="voucher", label="Voucher", amount=15, unit="percent",
                            why_it_helps="Next order is on us, partly.")

    picked = await store.set_offers(draft_id=draft_id, user_id="U_ANA", offers=[voucher],
                                    new_text="Here is 15% off your next order.", flags=[])

    assert picked is not None
    assert (picked.offers, picked.text, picked.flags, picked.final_text) == (
        [voucher], "Here is 15% off your next order.", [], None)
    # Without new flags or checklist, the old verdict stays.
    kept = await store.set_offers(draft_id=draft_id, user_id="U_ANA", offers=[voucher])
    assert kept is not None and kept.checklist == picked.checklist
    trail = await store.decisions(draft_id=draft_id)
    assert trail[0].action == "choose_offer" and trail[0].detail["after"] == picked.text


async def test_a_block_flag_holds_until_an_agent_overrides_it_for_this_text(
    store: Store, factory: StoreFactory,
) -> None:
    draft_id = await _blocked_draft(store, factory)
    drafted = await store.get_draft(draft_id=draft_id)
    assert drafted is not None and drafted.blocked

    overridden = await store.override_blocks(draft_id=draft_id, user_id="U_ANA",
                                             reason="The link is our status page.")

    assert overridden is not None and not overridden.blocked
    assert overridden.override_fingerprint == fingerprint(drafted.text)
    trail = await store.decisions(draft_id=draft_id)
    assert [(d.user_id, d.action, d.detail["reason"]) for d in trail] == [
        ("U_ANA", "override", "The link is our status page.")]
    assert [f["message"] for f in trail[0].detail["flags"]] == [UNKNOWN_LINK.message]

    # A new text brings the blocks back: the override was for the old one.
    edited = await store.record_edit(draft_id=draft_id, user_id="U_BEN",
                                     new_text=drafted.text + " See evil.example.")
    assert edited is not None and edited.blocked


async def test_blocks_found_after_the_override_hold_even_on_the_same_text(
    store: Store, factory: StoreFactory,
) -> None:
    draft_id = await _blocked_draft(store, factory)
    overridden = await store.override_blocks(draft_id=draft_id, user_id="U_ANA", reason="ok")
    assert overridden is not None
    same_blocks = await store.set_offers(draft_id=draft_id, user_id="U_ANA",
                                         offers=overridden.offers, flags=overridden.flags)
    assert same_blocks is not None and not same_blocks.blocked

    unlisted = Flag(code="needs_escalation", message="Offers a free phone", severity="block")
    rechecked = await store.set_offers(draft_id=draft_id, user_id="U_ANA",
                                       offers=overridden.offers, flags=[UNKNOWN_LINK, unlisted])
    assert rechecked is not None and rechecked.blocked


async def test_a_draft_without_block_flags_is_never_blocked_and_only_pending_drafts_are_overridden(
    store: Store, factory: StoreFactory,
) -> None:
    draft_id = await factory.pending_draft(store)
    plain = await store.get_draft(draft_id=draft_id)
    assert plain is not None and plain.flags and not plain.blocked

    assert await store.discard(draft_id=draft_id, user_id="U_ANA", reason="spam")
    assert await store.override_blocks(draft_id=draft_id, user_id="U_ANA", reason="x") is None
    assert await store.override_blocks(draft_id=404, user_id="U_ANA", reason="x") is None


async def test_a_regenerated_draft_drops_the_text_of_an_earlier_send(
    store: Store, factory: StoreFactory,
) -> None:
    draft_id = await factory.pending_draft(store)
    assert await store.claim_for_send(draft_id=draft_id, user_id="U_ANA", final_text="Old")
    assert await store.release_send(draft_id=draft_id, attempt=1, error="msg_too_long")
    rewritten = await store.replace_result(
        draft_id=draft_id, user_id="U_ANA", result=factory.result(text="Shorter."))
    assert rewritten is not None and (rewritten.text, rewritten.final_text) == ("Shorter.", None)

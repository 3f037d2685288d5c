"""Approve & send, told as an agent would see it, with Slack faked at the port."""

from __future__ import annotations

import asyncio

from app.domain.approval import fingerprint
from app.domain.draft_life import DraftState
from app.store import Store
from app.usecases.approve import CHANGED_SINCE_SEEN, ApproveAndSend
from app.usecases.cards import CardDesk
from app.usecases.settle_sends import SettleSends
from tests.store.conftest import StoreFactory
from tests.usecases.conftest import FakeSlackPort


def approver(store: Store, slack: FakeSlackPort, cards: CardDesk) -> ApproveAndSend:
    return ApproveAndSend(store, slack, cards, send_as="bot", follow_up_hours=24)


async def test_two_agents_click_approve_at_once_and_one_reply_is_sent(
    store: Store, slack: FakeSlackPort, cards: CardDesk, factory: StoreFactory
) -> None:
    draft_id = await factory.pending_draft(store)
    approve = approver(store, slack, cards)

    outcomes = await asyncio.gather(
        approve(draft_id=draft_id, user_id="U_AGENT", seen=None),
        approve(draft_id=draft_id, user_id="U_OTHER", seen=None),
    )

    assert sorted(o.sent for o in outcomes) == [False, True]
    assert len(slack.called("post_reply")) == 1
    sent = await store.get_draft(draft_id=draft_id)
    assert sent is not None and sent.status == DraftState.SENT
    # The follow-up is a stored commitment owned by the agent whose click sent the reply.
    [commitment] = await store.commitments_of(draft_id=draft_id)
    assert commitment.owner_id == sent.decided_by


async def test_a_draft_changed_after_the_agent_saw_it_is_not_sent(
    store: Store, slack: FakeSlackPort, cards: CardDesk, factory: StoreFactory
) -> None:
    draft_id = await factory.pending_draft(store)

    outcome = await approver(store, slack, cards)(
        draft_id=draft_id, user_id="U_AGENT", seen=fingerprint("an older text")
    )

    assert not outcome.sent and outcome.message == CHANGED_SINCE_SEEN
    assert slack.called("post_reply") == []


async def test_slack_refuses_the_reply_and_the_approval_stays_retryable(
    store: Store, slack: FakeSlackPort, cards: CardDesk, factory: StoreFactory
) -> None:
    draft_id = await factory.pending_draft(store)
    slack.fail["post_reply"] = ["ratelimited"]
    approve = approver(store, slack, cards)

    refused = await approve(draft_id=draft_id, user_id="U_AGENT", seen=None)
    assert not refused.sent and "ratelimited" in refused.message
    released = await store.get_draft(draft_id=draft_id)
    assert released is not None and released.status == DraftState.PENDING

    again = await approve(draft_id=draft_id, user_id="U_AGENT", seen=None)
    assert again.sent and len(slack.called("post_reply")) == 2


async def test_a_timeout_after_slack_posted_is_settled_as_sent_and_never_sent_twice(
    store: Store, slack: FakeSlackPort, cards: CardDesk, factory: StoreFactory
) -> None:
    draft_id = await factory.pending_draft(store)
    slack.post_then_fail = True
    approve = approver(store, slack, cards)

    assert not (await approve(draft_id=draft_id, user_id="U_AGENT", seen=None)).sent
    assert not (await approve(draft_id=draft_id, user_id="U_AGENT", seen=None)).sent
    assert await SettleSends(store, slack, cards)(older_than_s=0) == 1

    assert len(slack.called("post_reply")) == 1, "the sweep found the first post"
    settled = await store.get_draft(draft_id=draft_id)
    assert settled is not None and settled.status == DraftState.SENT


async def test_a_discarded_draft_cannot_be_sent(
    store: Store, slack: FakeSlackPort, cards: CardDesk, factory: StoreFactory
) -> None:
    from app.usecases.discard import Discard

    draft_id = await factory.pending_draft(store)
    assert await Discard(store, cards)(draft_id=draft_id, user_id="U_AGENT", reason="Spam")

    outcome = await approver(store, slack, cards)(draft_id=draft_id, user_id="U_AGENT", seen=None)

    assert not outcome.sent and "discarded" in outcome.message
    assert slack.called("post_reply") == []


async def test_settling_a_send_whose_process_died_never_sends_twice(
    store: Store, slack: FakeSlackPort, cards: CardDesk, factory: StoreFactory
) -> None:
    posted_id = await factory.pending_draft(store, "1712000000.000100")
    lost_id = await factory.pending_draft(store, "1712000000.000200")
    for draft_id in (posted_id, lost_id):
        claim = await store.claim_for_send(draft_id=draft_id, user_id="U_AGENT", final_text="Hi")
        assert claim.draft is not None
    # The dead process had posted one of the two replies.
    await slack.post_reply(channel="C_SUPPORT", thread_ts="x", text="Hi", draft_id=posted_id)

    assert await SettleSends(store, slack, cards)(older_than_s=0) == 2

    posted = await store.get_draft(draft_id=posted_id)
    lost = await store.get_draft(draft_id=lost_id)
    assert posted is not None and posted.status == DraftState.SENT
    assert lost is not None and lost.status == DraftState.PENDING
    assert len(slack.called("post_reply")) == 1


async def test_a_blocked_draft_is_sent_only_after_an_agent_overrides_with_a_reason(
    store: Store, slack: FakeSlackPort, cards: CardDesk, factory: StoreFactory
) -> None:
    from app.domain.models import Flag
    from app.usecases.approve import BLOCKED

    draft_id = await factory.pending_draft(store)
    draft = await store.get_draft(draft_id=draft_id)
    assert draft is not None
    link = Flag(code="unknown_link", severity="block", message="Link to evil.example")
    await store.record_edit(draft_id=draft_id, user_id="U_AGENT", new_text=draft.text,
                            flags=[link], checklist=draft.checklist)
    approve = approver(store, slack, cards)

    refused = await approve(draft_id=draft_id, user_id="U_AGENT", seen=None)
    assert not refused.sent and refused.message == BLOCKED

    assert await store.override_blocks(draft_id=draft_id, user_id="U_LEAD", reason="Partner site")

    assert (await approve(draft_id=draft_id, user_id="U_AGENT", seen=None)).sent
    decisions = await store.decisions(draft_id=draft_id)
    assert any(d.action == "override" and d.user_id == "U_LEAD" for d in decisions)

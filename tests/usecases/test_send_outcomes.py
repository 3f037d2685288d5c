"""What Slack answers to a send decides what the card says: refused, sent, or not known yet.

An unknown outcome is never taken as "not sent": the draft stays sending
until the settle sweep has looked for our post in the thread.
"""

from __future__ import annotations

import pytest

from app.domain.approval import fingerprint
from app.domain.draft_life import DraftState
from app.store import Store
from app.usecases.approve import CHANGED_SINCE_SEEN, UNCONFIRMED, ApproveAndSend
from app.usecases.cards import CardDesk
from app.usecases.ports import slack_did_not_post
from app.usecases.settle_sends import SettleSends
from tests.store.conftest import StoreFactory
from tests.usecases.conftest import FakeSlackPort


def approver(store: Store, slack: FakeSlackPort, cards: CardDesk, **options: object) -> ApproveAndSend:
    settings: dict[str, object] = {"send_as": "bot", "follow_up_hours": 0}
    settings.update(options)
    return ApproveAndSend(store, slack, cards, **settings)  # type: ignore[arg-type]


@pytest.mark.parametrize("error", ["timeout", "internal_error", "fatal_error", "request_timeout",
                                   "service_unavailable", "503", "something_new"])
async def test_an_answer_that_does_not_say_whether_slack_posted_keeps_the_draft_sending(
    store: Store, slack: FakeSlackPort, cards: CardDesk, factory: StoreFactory, error: str,
) -> None:
    draft_id = await factory.pending_draft(store)
    slack.fail["post_reply"] = [error]
    approve = approver(store, slack, cards)

    outcome = await approve(draft_id=draft_id, user_id="U_AGENT", seen=None)

    assert not outcome.sent and UNCONFIRMED in outcome.message
    assert "do not send it again" in outcome.message
    held = await store.get_draft(draft_id=draft_id)
    assert held is not None and held.status == DraftState.SENDING
    assert held.error is not None and error in held.error
    # A second click cannot post while the first outcome is unknown.
    again = await approve(draft_id=draft_id, user_id="U_OTHER", seen=None)
    assert not again.sent and len(slack.called("post_reply")) == 1


async def test_the_sweep_releases_a_send_whose_post_is_not_in_the_thread_and_it_goes_out_once(
    store: Store, slack: FakeSlackPort, cards: CardDesk, factory: StoreFactory,
) -> None:
    draft_id = await factory.pending_draft(store)
    slack.fail["post_reply"] = ["request_timeout"]
    approve = approver(store, slack, cards)
    # Slack timed out before posting: the fake recorded no post.
    assert not (await approve(draft_id=draft_id, user_id="U_AGENT", seen=None)).sent
    claimed = await store.get_draft(draft_id=draft_id)
    assert claimed is not None and claimed.claimed_at is not None

    assert await SettleSends(store, slack, cards)(older_than_s=0) == 1
    released = await store.get_draft(draft_id=draft_id)
    assert released is not None and released.status == DraftState.PENDING
    assert slack.called("find_reply")[-1]["since"] == claimed.claimed_at

    assert (await approve(draft_id=draft_id, user_id="U_AGENT", seen=None)).sent
    # The second attempt looked for an earlier post from the first claim on.
    looked = slack.called("find_reply")[-1]
    assert looked["since"] == claimed.claimed_at
    assert len(slack.called("post_reply")) == 2
    sent = await store.get_draft(draft_id=draft_id)
    assert sent is not None and (sent.status, sent.send_attempts) == (DraftState.SENT, 2)


@pytest.mark.parametrize("error", ["channel_not_found", "not_in_channel", "is_archived",
                                   "msg_too_long", "restricted_action", "ratelimited"])
async def test_a_clear_refusal_hands_the_draft_back_at_once(
    store: Store, slack: FakeSlackPort, cards: CardDesk, factory: StoreFactory, error: str,
) -> None:
    draft_id = await factory.pending_draft(store)
    slack.fail["post_reply"] = [error]

    outcome = await approver(store, slack, cards)(draft_id=draft_id, user_id="U_AGENT", seen=None)

    assert not outcome.sent and "Nothing was sent" in outcome.message
    released = await store.get_draft(draft_id=draft_id)
    assert released is not None and released.status == DraftState.PENDING
    assert released.final_text is None


async def test_when_the_earlier_post_cannot_be_looked_for_nothing_is_posted(
    store: Store, slack: FakeSlackPort, cards: CardDesk, factory: StoreFactory,
) -> None:
    draft_id = await factory.pending_draft(store)
    slack.fail["post_reply"] = ["ratelimited"]
    approve = approver(store, slack, cards)
    assert not (await approve(draft_id=draft_id, user_id="U_AGENT", seen=None)).sent
    slack.fail["find_reply"] = ["internal_error", "internal_error"]

    outcome = await approve(draft_id=draft_id, user_id="U_AGENT", seen=None)

    assert not outcome.sent and UNCONFIRMED in outcome.message
    assert len(slack.called("post_reply")) == 1
    held = await store.get_draft(draft_id=draft_id)
    assert held is not None and held.status == DraftState.SENDING
    # Nor can the sweep tell yet: the draft waits for the next sweep.
    assert await SettleSends(store, slack, cards)(older_than_s=0) == 0
    assert await SettleSends(store, slack, cards)(older_than_s=0) == 1


async def test_an_edit_after_a_refused_send_is_what_the_next_approval_sends(
    store: Store, slack: FakeSlackPort, cards: CardDesk, factory: StoreFactory,
) -> None:
    draft_id = await factory.pending_draft(store)
    slack.fail["post_reply"] = ["msg_too_long"]
    approve = approver(store, slack, cards)
    assert not (await approve(draft_id=draft_id, user_id="U_AGENT", seen=None)).sent
    await store.record_edit(draft_id=draft_id, user_id="U_AGENT", new_text="Shorter, Dana.")

    stale = await approve(draft_id=draft_id, user_id="U_AGENT", seen=fingerprint("old text"))
    assert stale.message == CHANGED_SINCE_SEEN
    sent = await approve(draft_id=draft_id, user_id="U_AGENT",
                         seen=fingerprint("Shorter, Dana."))

    assert sent.sent
    assert slack.called("post_reply")[-1]["text"] == "Shorter, Dana."


async def test_one_customer_message_with_two_cards_gets_one_reply(
    store: Store, slack: FakeSlackPort, cards: CardDesk, factory: StoreFactory,
) -> None:
    asked = await factory.pending_draft(
        store, complaint=factory.complaint("1712000000.000100", source="mention"))
    watched = await factory.pending_draft(store, complaint=factory.complaint("1712000000.000100"))
    approve = approver(store, slack, cards)

    first = await approve(draft_id=asked, user_id="U_AGENT", seen=None)
    second = await approve(draft_id=watched, user_id="U_OTHER", seen=None)

    assert first.sent and not second.sent
    assert "Another reply to this customer message" in second.message
    assert [c["draft_id"] for c in slack.called("post_reply")] == [asked]


async def test_copy_ready_text_completes_the_attempt_it_claimed(
    store: Store, slack: FakeSlackPort, cards: CardDesk, factory: StoreFactory,
) -> None:
    draft_id = await factory.pending_draft(store)

    outcome = await approver(store, slack, cards, send_as="agent")(
        draft_id=draft_id, user_id="U_AGENT", seen=None)

    assert outcome.sent and outcome.text_for_agent
    copied = await store.get_draft(draft_id=draft_id)
    assert copied is not None and copied.status == DraftState.SENT
    assert slack.called("post_reply") == []


def test_only_clear_refusals_mean_slack_did_not_post() -> None:
    assert all(slack_did_not_post(code) for code in (
        "ratelimited", "channel_not_found", "not_in_channel", "is_archived", "msg_too_long",
        "restricted_action", "invalid_auth"))
    assert not any(slack_did_not_post(code) for code in (
        "timeout", "internal_error", "fatal_error", "request_timeout", "service_unavailable",
        "500", "ClientConnectionError", "TimeoutError", ""))

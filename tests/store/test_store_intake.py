"""Slack delivers an event more than once, to more than one instance: it is handled once."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import TYPE_CHECKING

import pytest
from sqlalchemy.exc import IntegrityError

from app.store import AlreadyDelivered, JobClaim, JobState, NewComplaint

if TYPE_CHECKING:
    from conftest import StoreFactory, StoreOpener

    from app.store import Store


async def test_an_event_is_new_once_and_a_retry_is_recognised(store: Store) -> None:
    assert await store.first_delivery(event_id="Ev0A1") is True
    assert await store.first_delivery(event_id="Ev0A1") is False
    assert await store.first_delivery(event_id="Ev0B2") is True


async def test_a_complaint_records_its_event_id_and_a_redelivery_stores_nothing(
    store: Store, factory: StoreFactory,
) -> None:
    complaint = factory.complaint("1712000000.000500")
    assert await store.accept_complaint(complaint=complaint, event_id="Ev0MSG1") is not None

    with pytest.raises(AlreadyDelivered):
        await store.accept_complaint(complaint=complaint, event_id="Ev0MSG1")
    # Recorded like any other delivery: the event id is not new any more.
    assert await store.first_delivery(event_id="Ev0MSG1") is False
    # The same message under another event id (a thread_broadcast) is a duplicate message.
    assert await store.accept_complaint(complaint=complaint, event_id="Ev0MSG2") is None
    assert await store.first_delivery(event_id="Ev0MSG2") is False
    assert await store.pending_job_count() == 1


async def test_a_complaint_that_fails_to_store_leaves_its_event_id_new_for_the_retry(
    store: Store, factory: StoreFactory,
) -> None:
    broken = replace(factory.complaint("1712000000.000600"), user_id=None)

    with pytest.raises(IntegrityError):
        await store.accept_complaint(complaint=broken, event_id="Ev0MSG3")

    assert await store.first_delivery(event_id="Ev0MSG3") is True
    assert await store.pending_job_count() == 0


async def test_two_instances_racing_on_one_delivery_agree_on_a_single_winner(
    open_store: StoreOpener,
) -> None:
    first, second = await open_store(), await open_store()
    attempts = [(first if i % 2 else second).first_delivery(event_id="EvRACE") for i in range(20)]
    outcomes = await asyncio.gather(*attempts)
    assert outcomes.count(True) == 1


async def test_a_complaint_is_accepted_once_with_exactly_one_job(
    store: Store, factory: StoreFactory,
) -> None:
    accepted = await store.accept_complaint(complaint=factory.complaint("1712000000.000100"))
    again = await store.accept_complaint(complaint=factory.complaint("1712000000.000100"))

    assert accepted is not None and again is None
    assert await store.pending_job_count() == 1
    job = await store.get_job(job_id=accepted.job_id)
    assert job is not None and (job.kind, job.complaint_id) == ("draft", accepted.complaint_id)
    stored = await store.get_complaint(complaint_id=accepted.complaint_id)
    assert stored == accepted.complaint
    # a top-level message is the root of its own thread
    assert stored.thread_ts == stored.message_ts == "1712000000.000100"


async def test_a_shortcut_on_a_message_nobody_asked_about_yet_is_a_request_with_its_job(
    store: Store, factory: StoreFactory,
) -> None:
    asked = await store.accept_complaint(
        complaint=factory.complaint("1712000000.000100", source="shortcut"),
        payload={"respond_to": "U_AGENT"},
    )
    assert asked is not None and asked.complaint.source == "shortcut"
    job = await store.get_job(job_id=asked.job_id)
    assert job is not None and job.payload == {"respond_to": "U_AGENT"}


async def test_a_complaint_accepted_with_a_claim_is_leased_to_that_worker_and_not_queued(
    open_store: StoreOpener, factory: StoreFactory,
) -> None:
    accepting, other = await open_store(), await open_store()
    accepted = await accepting.accept_complaint(
        complaint=factory.complaint("1712000000.000300"),
        claim=JobClaim(worker="host-a", lease_s=0.3),
    )
    assert accepted is not None and accepted.job is not None
    job = accepted.job
    assert (job.id, job.status, job.lease_owner, job.attempts) == (
        accepted.job_id, JobState.RUNNING, "host-a", 1,
    )
    assert job.lease_until is not None and job.lease_until > job.not_before
    assert await accepting.get_job(job_id=job.id) == job
    # The job carries its complaint as stored: the draft job starts without reading it.
    assert job.accepted == accepted.complaint
    assert (await accepting.get_job(job_id=job.id)).accepted is None
    # Nobody else can claim it while the lease holds; once it runs out, anyone can.
    assert await other.claim_job(worker="host-b") is None
    await asyncio.sleep(0.4)
    taken = await other.claim_job(worker="host-b")
    assert taken is not None and (taken.id, taken.attempts) == (job.id, 2)
    assert await accepting.finish_job(job_id=job.id, worker="host-a") is False


async def test_a_duplicate_accepted_with_a_claim_takes_nothing(
    store: Store, factory: StoreFactory,
) -> None:
    claim = JobClaim(worker="host-a", lease_s=20)
    assert await store.accept_complaint(complaint=factory.complaint("1712000000.000400"), claim=claim)
    assert await store.accept_complaint(
        complaint=factory.complaint("1712000000.000400"), claim=claim
    ) is None
    assert await store.pending_job_count() == 1


async def test_two_instances_accepting_the_same_message_queue_one_job(
    open_store: StoreOpener, factory: StoreFactory,
) -> None:
    first, second = await open_store(), await open_store()
    complaint = factory.complaint("1712000000.000900")
    results = await asyncio.gather(
        *[(first if i % 2 else second).accept_complaint(complaint=complaint) for i in range(10)]
    )
    assert sum(result is not None for result in results) == 1
    assert await first.pending_job_count() == 1


async def test_a_complaint_keeps_what_the_listener_knew(store: Store) -> None:
    complaint = NewComplaint(
        team_id="T1", channel_id="C_SUPPORT", message_ts="1712000001.000200",
        thread_ts="1712000000.000100", user_id="U_CUSTOMER", user_name="Dana",
        permalink="https://example.slack.com/archives/C_SUPPORT/p1712000001000200",
        text="Still nothing. [email]", source="mention", requested_by="U_AGENT",
        guidance="offer the refund first",
    )
    accepted = await store.accept_complaint(complaint=complaint, job_kind="draft")
    assert accepted is not None
    found = await store.find_complaint(channel_id="C_SUPPORT",
                                       message_ts="1712000001.000200", source="mention")
    assert found == accepted.complaint
    assert (found.thread_ts, found.requested_by, found.guidance, found.permalink) == (
        "1712000000.000100", "U_AGENT", "offer the refund first", complaint.permalink)
    assert found.created_at.tzinfo is not None


async def test_two_instances_racing_to_accept_one_message_store_it_once(
    open_store: StoreOpener, factory: StoreFactory,
) -> None:
    # Slack's retries and a thread_broadcast: the same message under several event
    # ids, each delivered twice, to two instances at once.
    first, second = await open_store(), await open_store()
    complaint = factory.complaint("1712000000.000700")

    async def deliver(store: Store, event_id: str) -> str:
        try:
            accepted = await store.accept_complaint(
                complaint=complaint, event_id=event_id, claim=JobClaim(worker="w", lease_s=30)
            )
        except AlreadyDelivered:
            return "duplicate_delivery"
        return "accepted" if accepted is not None else "duplicate_message"

    outcomes = await asyncio.gather(*(
        deliver(store, f"Ev0RACE{n % 3}") for n in range(12) for store in (first, second)
    ))

    assert outcomes.count("accepted") == 1
    assert outcomes.count("duplicate_message") == 2  # the other two event ids, once each
    assert outcomes.count("duplicate_delivery") == 21
    assert await first.pending_job_count() == 1


async def test_a_relayed_complaint_goes_in_whole_and_reaches_its_job_as_stored(
    store: Store, factory: StoreFactory,
) -> None:
    paste = {"form": "email", "history": [{"author": "customer", "text": "Where is my refund?"}]}
    complaint = replace(
        factory.complaint("1712000000.000800"), channel_kind="relay", relayed=paste,
        user_name="Maria Lopez",
    )

    accepted = await store.accept_complaint(
        complaint=complaint, claim=JobClaim(worker="w", lease_s=30), event_id="Ev0RELAY"
    )

    assert accepted is not None and accepted.job is not None
    assert accepted.complaint.relayed == paste and accepted.complaint.is_relayed
    assert accepted.complaint.channel_kind == "relay"
    assert accepted.job.accepted == accepted.complaint
    assert await store.get_complaint(complaint_id=accepted.complaint_id) == accepted.complaint
    job = await store.get_job(job_id=accepted.job_id)
    assert job is not None and (job.status, job.lease_owner, job.complaint_id) == (
        JobState.RUNNING, "w", accepted.complaint_id,
    )

"""Placing complaints in incidents: decided once, and the same on every instance (SQLite, PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import yaml

from app.domain.incidents import LEXICAL, lexical_vector
from app.store import NewComplaint, Store
from app.store.incidents import Grouping
from tests.store.conftest import SteppingClock, StoreOpener

FIXTURES = yaml.safe_load(
    (Path(__file__).parents[1] / "fixtures" / "incidents" / "burst.yaml").read_text()
)
GROUPING = Grouping(window=timedelta(minutes=30), threshold=0.4, min_size=3)


async def stored(store: Store, texts: list[str], *, first_ts: int = 1) -> list[int]:
    ids = []
    for number, text in enumerate(texts, start=first_ts):
        accepted = await store.accept_complaint(complaint=NewComplaint(
            team_id="T1", channel_id="C1", message_ts=f"1764000000.{number:06d}",
            user_id=f"U{number}", text=text, source="watch",
        ))
        assert accepted is not None
        ids.append(accepted.complaint_id)
    return ids


async def place(store: Store, complaint_id: int, text: str) -> object:
    return await store.place_complaint(
        complaint_id=complaint_id, source=LEXICAL, vector=lexical_vector(text), grouping=GROUPING
    )


async def test_two_instances_placing_a_burst_at_once_agree_on_one_incident(
    open_store: StoreOpener,
) -> None:
    one, two = await open_store(), await open_store()
    burst = FIXTURES["problems"]["carrier_north"]
    texts = burst + FIXTURES["unrelated"][:3]
    ids = await stored(one, texts)

    # Every complaint is placed by both instances at the same moment (a job run twice).
    await asyncio.gather(*(
        place(store, complaint_id, text)
        for complaint_id, text in zip(ids, texts, strict=True) for store in (one, two)
    ))

    seen_by_one = [await one.incident_of(complaint_id=c) for c in ids]
    seen_by_two = [await two.incident_of(complaint_id=c) for c in ids]
    assert seen_by_one == seen_by_two
    incidents = {i for i in seen_by_one[: len(burst)] if i is not None}
    assert len(incidents) == 1, seen_by_one
    (incident_id,) = incidents
    assert seen_by_one[len(burst):] == [None, None, None], "unrelated complaints stay alone"
    incident = await one.get_incident(incident_id=incident_id)
    assert incident is not None and incident.members == len(burst) >= GROUPING.min_size
    members = await two.incident_members(incident_id=incident_id)
    assert sorted(m.id for m in members) == sorted(ids[: len(burst)])


async def test_a_placement_is_made_once_and_pull_out_and_merge_keep_counts(
    open_store: StoreOpener,
) -> None:
    store = await open_store()
    carrier, charge = FIXTURES["problems"]["carrier_north"][:3], FIXTURES["problems"]["double_charge"][:3]
    carrier_ids = await stored(store, carrier)
    charge_ids = await stored(store, charge, first_ts=10)
    placements = [await place(store, c, t) for c, t in zip(carrier_ids, carrier, strict=True)]
    assert [p.kind for p in placements] == ["alone", "alone", "formed"]  # type: ignore[attr-defined]
    again = await place(store, carrier_ids[2], carrier[2])
    # A re-run job finds the decision already made: same incident, still the lead.
    assert (again.incident_id, again.lead) == (  # type: ignore[attr-defined]
        placements[2].incident_id, True)  # type: ignore[attr-defined]
    for c, t in zip(charge_ids, charge, strict=True):
        await place(store, c, t)
    first = await store.incident_of(complaint_id=carrier_ids[0])
    second = await store.incident_of(complaint_id=charge_ids[0])
    assert first and second and first != second

    assert await store.pull_out(incident_id=first, complaint_ids=[carrier_ids[0]]) == [carrier_ids[0]]
    assert await store.pull_out(incident_id=first, complaint_ids=[carrier_ids[0]]) == []
    assert await store.incident_of(complaint_id=carrier_ids[0]) is None
    assert await place(store, carrier_ids[0], carrier[0]) == placements[0], "stays alone"

    assert await store.merge_incidents(incident_id=second, into_id=first)
    assert not await store.merge_incidents(incident_id=second, into_id=first), "merged once"
    merged = await store.get_incident(incident_id=first)
    assert merged is not None and merged.members == 5
    assert await store.incident_of(complaint_id=charge_ids[0]) == first

    assert await store.start_fan_out(incident_id=first, user_id="UAGENT", shared_text="Hello")
    assert not await store.start_fan_out(incident_id=first, user_id="UAGENT", shared_text="Hi")
    # A fan-out that kept failing is handed back to the agents, then approved again.
    assert await store.reopen_fan_out(incident_id=first)
    assert await store.start_fan_out(incident_id=first, user_id="UAGENT", shared_text="Hello")
    assert await store.pending_job_count() == len(carrier_ids) + len(charge_ids) + 2, "a job each"
    figures = await store.incident_figures()
    assert (figures.incidents, figures.grouped_complaints) == (1, 5)
    stats = await store.stats()  # what `tactful stats` and App Home show
    assert (stats.incidents, stats.incident_complaints, stats.declared_incidents) == (1, 5, 0)


async def test_a_card_claim_left_by_a_dead_poster_is_taken_over_and_old_incidents_are_purged(
    open_store: StoreOpener,
) -> None:
    clock = SteppingClock()
    store = await open_store(clock=clock)
    incident_id = await store.declare_incident(
        context="Outage", declared_by="UAGENT", source=LEXICAL, vector=lexical_vector("outage")
    )
    assert await store.claim_incident_card(incident_id=incident_id)
    assert not await store.claim_incident_card(incident_id=incident_id), "one poster"
    clock.advance(61)  # the poster died before storing the card
    assert await store.claim_incident_card(incident_id=incident_id)
    await store.set_incident_card(incident_id=incident_id, channel="C0REVIEW", ts="1.2")
    clock.advance(600)
    assert not await store.claim_incident_card(incident_id=incident_id), "posted: never again"

    assert await store.purge_incidents(before=clock() - timedelta(days=1)) == 0
    assert await store.purge_incidents(before=clock() + timedelta(seconds=1)) == 1
    assert await store.get_incident(incident_id=incident_id) is None

"""The incident card within Block Kit's limits, however many customers complain at once."""

from __future__ import annotations

from datetime import timedelta

from app.domain.draft_life import DraftState
from app.slack.incident_blocks import APPROVE_ALL, MERGE, PULL_OUT, incident_card
from app.store.incidents import Incident
from app.usecases.incidents import IncidentCard
from tests.fakes.slack_blocks import check_message
from tests.slack.test_blocks import NOW, complaint, draft


def an_incident(incident_id: int = 1, *, status: str = "open", members: int = 3) -> Incident:
    return Incident(
        id=incident_id, status=status, members=members, lead_complaint_id=1,
        context="Carrier outage in the north, ETA Thursday." * 50, declared_by="UAGENT1",
        shared_text=None, sent_by="UAGENT1" if status != "open" else None, merged_into=None,
        revision=3, drawn_revision=2, card_channel=None, card_ts=None, first_at=NOW,
        last_at=NOW + timedelta(minutes=4),
    )


def customers(count: int) -> list:  # type: ignore[type-arg]
    return [
        complaint(id=n + 1, user_id=f"U{n:04d}", user_name=f"Customer {n}",
                  channel_id=f"C0SUPPORT{n % 3}", text=f"Order #{48000 + n} stuck at the north depot. "
                  + "Still nothing. " * 100)
        for n in range(count)
    ]


def test_two_hundred_customers_fit_one_message() -> None:
    members = customers(200)
    others = [an_incident(n) for n in range(2, 150)]
    card = IncidentCard(incident=an_incident(members=200), members=members,
                        shared=draft(DraftState.PENDING, text="We are on it. " * 400),
                        sent=0, others=others)
    text, blocks = incident_card(card)
    assert check_message({"text": text, "blocks": blocks}) is None, "Slack would take it"
    assert len(blocks) <= 50
    shown = str(blocks)
    assert "*200 customers*" in shown and "192 more customers" in shown
    assert "#48000" in shown, "the first customers' orders are on the card"
    controls = {e["action_id"]: e for b in blocks if b["type"] == "actions" for e in b["elements"]}
    assert set(controls) >= {APPROVE_ALL, PULL_OUT, MERGE}
    assert len(controls[PULL_OUT]["options"]) == 100 and len(controls[MERGE]["options"]) == 100


def test_a_card_being_sent_shows_progress_and_no_controls() -> None:
    card = IncidentCard(incident=an_incident(status="sending", members=3), members=customers(3),
                        shared=draft(DraftState.SENT), sent=2, others=[])
    text, blocks = incident_card(card)
    assert check_message({"text": text, "blocks": blocks}) is None
    assert "2 of 3 sent" in str(blocks)
    assert not [b for b in blocks if b["type"] == "actions"]

"""An event whose handling fails is answered 500, and Slack's retry is then handled, not dropped."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakes.signing import event_callback_body, message_event
from tests.slack.conftest import CUSTOMER, CUSTOMER_TEAM, SUPPORT, RunningBot, next_ts


async def test_a_failed_acceptance_is_retried_by_slack_and_then_drafted(
    running: RunningBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = running.store
    real_accept = store.accept_complaint
    failures = {"left": 1}

    async def accept_once_broken(**kwargs: Any) -> Any:
        if failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("database went away")
        return await real_accept(**kwargs)

    monkeypatch.setattr(store, "accept_complaint", accept_once_broken)
    ts = next_ts()
    text = "Third time my parcel is lost. I want this sorted today."
    running.slack.add_message(SUPPORT, ts, text, user=CUSTOMER)
    event = message_event(SUPPORT, text, user=CUSTOMER, ts=ts, user_team=CUSTOMER_TEAM)

    first, _ = await running.post(event_callback_body(event, event_id="EvBROKEN1"))
    retried, _ = await running.post(event_callback_body(event, event_id="EvBROKEN1", retry_num=1))

    assert first == 500, "Slack must be told to retry"
    assert retried == 200
    draft = await running.card_for(ts)
    assert draft.card_ts

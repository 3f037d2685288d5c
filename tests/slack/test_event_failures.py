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


async def test_a_draft_job_that_keeps_crashing_ends_on_a_card_with_retry(
    running: RunningBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.usecases import jobs
    from tests.fakes.signing import block_actions_body
    from tests.slack.conftest import AGENT, REVIEW

    monkeypatch.setattr(jobs, "RETRY_S", 0.01)
    monkeypatch.setattr(jobs, "MAX_ATTEMPTS", 2)
    assert running.bot.drafting is not None
    pipeline = running.bot.drafting.pipeline
    real_draft = pipeline.draft

    async def crash(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug in drafting")

    monkeypatch.setattr(pipeline, "draft", crash)
    ts, _ = await running.customer_says("You charged my card twice for the same order and nobody replies.")

    failed = await running.card_for(ts, status="failed")
    assert "drafting kept failing (RuntimeError)" in (failed.error or "")
    cards = [c for c in running.slack.calls_to("chat.postMessage") if c.args.get("channel") == REVIEW]
    assert len(cards) == 1 and "retry_draft" in str(cards[0].args["blocks"]), (
        "one card, posted already showing Retry"
    )

    monkeypatch.setattr(pipeline, "draft", real_draft)
    status, _ = await running.post(
        block_actions_body(action_id="retry_draft", value=str(failed.id), user_id=AGENT,
                           channel_id=REVIEW, message_ts=failed.card_ts)
    )
    assert status == 200
    drafted = await running.card_for(ts)
    assert drafted.text and drafted.card_ts == failed.card_ts

"""Hostile input is cheap: while a pathological request or message is handled, the bot answers."""

from __future__ import annotations

import asyncio
import time

from tests.fakes.signing import SIGNING_SECRET, event_callback_body, message_event, sign
from tests.slack.conftest import CUSTOMER, CUSTOMER_TEAM, SUPPORT, RunningBot, next_ts

# Backtracked quadratically through the old e-mail pattern: 80 KB froze the loop for 6 s.
E_MAIL_KILLER = "a%" * 20_000 + " @"


async def _health_while(running: RunningBot, work: asyncio.Task[object]) -> list[float]:
    """Poll /healthz until ``work`` ends; every answer's latency in seconds."""
    latencies: list[float] = []
    while not work.done() or not latencies:
        started = time.perf_counter()
        async with running.session.get(f"{running.url}/healthz") as resp:
            assert resp.status == 200
        latencies.append(time.perf_counter() - started)
        await asyncio.sleep(0.01)
    return latencies


async def test_a_huge_forged_request_is_refused_while_healthz_keeps_answering(
    running: RunningBot,
) -> None:
    body = ("payload=" + E_MAIL_KILLER * 45).encode()[: 1_900_000]
    headers = {"Content-Type": "application/x-www-form-urlencoded",
               **sign(body, "not-the-secret")}

    forged = asyncio.create_task(running.post((body, headers)))
    latencies = await _health_while(running, forged)

    status, _ = await forged
    assert status == 401
    assert max(latencies) < 0.5, f"/healthz stalled {max(latencies):.2f} s"


async def test_a_40k_pathological_message_is_acked_fast_and_drafted_capped(
    running: RunningBot,
) -> None:
    text = "Where is my refund? " + E_MAIL_KILLER + " (((" * 2000 + "ßœ😡" * 500
    ts = next_ts()
    running.slack.add_message(SUPPORT, ts, text, user=CUSTOMER)
    event = message_event(SUPPORT, text, user=CUSTOMER, ts=ts, user_team=CUSTOMER_TEAM)
    signed = event_callback_body(event, event_id="EvHOSTILE1")

    started = time.perf_counter()
    acked = asyncio.create_task(running.post(signed))
    latencies = await _health_while(running, acked)
    status, _ = await acked

    assert status == 200 and time.perf_counter() - started < 1.5
    assert max(latencies) < 0.5
    draft = await running.card_for(ts)
    sent_to_llm = str(running.llm.requests)
    assert "characters were not read" in sent_to_llm and len(sent_to_llm) < 200_000
    assert draft.card_ts
    assert SIGNING_SECRET not in sent_to_llm

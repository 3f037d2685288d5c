"""Acks before drafting work: few jobs past their model answer at once, and they wait for acks."""

from __future__ import annotations

import asyncio
import time

from app.usecases.ack_first import AckFirst


async def test_only_a_few_jobs_work_after_their_answer_at_once() -> None:
    gate = AckFirst(after_model_slots=3)
    inside, most = 0, 0

    async def job() -> None:
        nonlocal inside, most
        async with gate.after_model():
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.01)
            inside -= 1

    await asyncio.gather(*(job() for _ in range(12)))

    assert most == 3


async def test_a_job_step_waits_for_the_ack_in_flight_then_goes_on() -> None:
    gate = AckFirst(max_yield_s=5.0)
    order: list[str] = []

    async def ack() -> None:
        with gate.acking():
            assert gate.acks_in_flight == 1
            await asyncio.sleep(0.05)
            order.append("acked")

    async def job_step() -> None:
        await asyncio.sleep(0)  # the ack has started
        await gate.let_acks_pass()
        order.append("job")

    await asyncio.gather(ack(), job_step())

    assert order == ["acked", "job"]
    assert gate.acks_in_flight == 0


async def test_a_stream_of_acks_holds_a_job_step_back_only_briefly() -> None:
    gate = AckFirst(max_yield_s=0.05)
    with gate.acking():
        started = time.monotonic()
        await gate.let_acks_pass()
        waited = time.monotonic() - started

    assert 0.04 <= waited < 1.0

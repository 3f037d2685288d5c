"""SQLite's one write lock, handed over in this process: acks first, but jobs still get turns."""

from __future__ import annotations

import asyncio

from app.store.writer_turns import URGENT_RUN, WriterTurns


async def _writer(turns: WriterTurns, name: str, urgent: bool, order: list[str]) -> None:
    async with turns.turn(urgent=urgent):
        order.append(name)
        await asyncio.sleep(0)


async def test_urgent_writers_go_first_yet_a_waiting_job_write_is_not_starved() -> None:
    turns, order = WriterTurns(), []
    async with turns.turn(urgent=False):
        # While the lock is held: one job write queues, then a flood of ack writes.
        tasks = [asyncio.create_task(_writer(turns, "job", False, order))]
        await asyncio.sleep(0)
        tasks += [asyncio.create_task(_writer(turns, f"ack{n}", True, order)) for n in range(10)]
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)

    # The acks that queued after it still go first, but only URGENT_RUN of them.
    assert order.index("job") == URGENT_RUN
    assert order[:URGENT_RUN] == [f"ack{n}" for n in range(URGENT_RUN)]
    assert len(order) == 11


async def test_a_cancelled_waiter_passes_its_turn_on() -> None:
    turns, order = WriterTurns(), []
    async with turns.turn(urgent=False):
        gone = asyncio.create_task(_writer(turns, "gone", True, order))
        kept = asyncio.create_task(_writer(turns, "kept", False, order))
        await asyncio.sleep(0)
        gone.cancel()
    await asyncio.gather(gone, kept, return_exceptions=True)

    assert order == ["kept"]

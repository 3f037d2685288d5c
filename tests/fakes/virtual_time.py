"""A monotonic clock and an ``asyncio.sleep`` that only move when the test says so.

Code under test takes ``clock=time`` and ``sleep=time.sleep``; the test calls
``await time.advance(seconds)``, which wakes every sleeper due by then, in
order, letting each run before the clock moves on.  Nothing really waits, so a
minute of rate limits takes milliseconds and every figure is exact.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools


class VirtualTime:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + seconds, next(self._order), woken))
        await woken

    async def advance(self, seconds: float) -> None:
        """Move the clock forward, waking sleepers at their own time on the way."""
        until = self.now + seconds
        await settle()
        while self._sleepers and self._sleepers[0][0] <= until:
            due, _, woken = heapq.heappop(self._sleepers)
            self.now = max(self.now, due)
            if not woken.done():
                woken.set_result(None)
            await settle()
        self.now = until
        await settle()


async def settle(turns: int = 20) -> None:
    """Let every task that can run do so (a few loop turns: woken futures chain)."""
    for _ in range(turns):
        await asyncio.sleep(0)

"""Whose turn it is to write to a SQLite file, within one process.

SQLite lets one writer in at a time.  Left to SQLite, waiting writers sleep
in its busy handler with growing back-off and are served in no order, so an
ack can wait seconds behind a burst of drafting-job writes.  Queuing them in
the process instead hands the lock over at once, and the writes Slack is
waiting on (dedupe, accepting a complaint) go first.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class WriterTurns:
    """An asyncio lock handed over in order, urgent waiters first."""

    def __init__(self) -> None:
        self._held = False
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._normal: deque[asyncio.Future[None]] = deque()

    @asynccontextmanager
    async def turn(self, *, urgent: bool) -> AsyncIterator[None]:
        if self._held:
            granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            (self._urgent if urgent else self._normal).append(granted)
            try:
                await granted
            except asyncio.CancelledError:
                if granted.done() and not granted.cancelled():
                    self._hand_over()  # the turn came as we were cancelled: pass it on
                raise
        self._held = True
        try:
            yield
        finally:
            self._hand_over()

    def _hand_over(self) -> None:
        for queue in (self._urgent, self._normal):
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)
                    return
        self._held = False

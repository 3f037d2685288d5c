"""Whose turn it is to write to a SQLite file, within one process.

SQLite lets one writer in at a time.  Left to SQLite, waiting writers sleep
in its busy handler with growing back-off and are served in no order, so an
ack can wait seconds behind a burst of drafting-job writes.  Queuing them in
the process instead hands the lock over at once, and the writes Slack is
waiting on (dedupe, accepting a complaint) go first, a few at a time between
job writes so that neither side waits for ever.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

# After this many urgent turns in a row, a waiting normal writer gets one: under
# a flood of acks (a burst, Slack redelivering slow acks) the drafting jobs must
# still claim and store, or no card is ever posted (seen in the issue 8 bench).
URGENT_RUN = 3


class WriterTurns:
    """An asyncio lock handed over in order, urgent waiters first (but never only them)."""

    def __init__(self) -> None:
        self._held = False
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._normal: deque[asyncio.Future[None]] = deque()
        self._urgent_run = 0

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
        order = (self._urgent, self._normal)
        if self._urgent_run >= URGENT_RUN:
            order = (self._normal, self._urgent)
        for queue in order:
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)
                    self._urgent_run = self._urgent_run + 1 if queue is self._urgent else 0
                    return
        self._held = False
        self._urgent_run = 0

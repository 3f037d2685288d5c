"""Slack's acks before drafting work: acks in flight, and the gate after the model answers.

Slack redelivers an event that is not acked within 3 s, so the ack path
(signature check, dedupe insert, job insert, 200) must never wait behind
drafts.  Under a burst, the model's answers come back while complaints are
still arriving, and every job that resumes after its answer (storing the
draft, drawing and posting its card) adds callbacks to each turn of the one
event loop: with a hundred of them runnable, an ack that needs a dozen loop
turns takes seconds.

So storing the draft after the answer runs a few jobs at a time
(``after_model``), and job steps step aside while an ack is in flight, for at
most ``MAX_YIELD_S``, so a constant stream of acks cannot starve the drafts.
The card's post is not gated here: it waits in the Slack pacer, where urgent
cards overtake routine ones.  The Slack adapter counts its acks with
``acking``; nothing here knows of Slack.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

# Jobs storing their draft at once: SQLite writes take turns anyway and each is well
# under a millisecond on the loop, so 4 keep up with a burst's answers (40+/s), and few
# runnable jobs leave the loop free for acks (8 and 16 measured worse: bench/README.md).
AFTER_MODEL_SLOTS = 4
# How long a job step waits for in-flight acks to finish before going ahead anyway.
MAX_YIELD_S = 0.05


class AckFirst:
    """Counts acks in flight; drafting jobs pass ``after_model`` and yield to acks."""

    def __init__(
        self, *, after_model_slots: int = AFTER_MODEL_SLOTS, max_yield_s: float = MAX_YIELD_S
    ) -> None:
        self._acks = 0
        self._quiet = asyncio.Event()
        self._quiet.set()
        self._slots = asyncio.Semaphore(after_model_slots)
        self._max_yield_s = max_yield_s

    @property
    def acks_in_flight(self) -> int:
        return self._acks

    @contextlib.contextmanager
    def acking(self) -> Iterator[None]:
        """Around one Slack request, from its arrival to its answer."""
        self._acks += 1
        self._quiet.clear()
        try:
            yield
        finally:
            self._acks -= 1
            if not self._acks:
                self._quiet.set()

    async def let_acks_pass(self) -> None:
        """Wait (briefly) until no ack is in flight; at least give the loop one turn."""
        if not self._acks:
            await asyncio.sleep(0)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._quiet.wait(), self._max_yield_s)

    @contextlib.asynccontextmanager
    async def after_model(self) -> AsyncIterator[None]:
        """One of a few jobs doing the work that follows the model's answer."""
        async with self._slots:
            await self.let_acks_pass()
            yield

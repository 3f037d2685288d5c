"""Prototypes of app changes the load bench suggests, to measure before anyone edits ``app/``.

Each experiment monkeypatches the app in this process only, then hands over
to the real ``tactful`` CLI.  They are measuring tools, not fixes.
``serve_load --experiment NAME[,NAME]`` starts the bot this way::

    python -m bench.experiments gc-freeze serve --port 3000

The first round of experiments (warm the LLM client, SQLite writers taking
turns with ack writes first, no supersede write for new threads, cached
response schemas) proved out and now live in ``app/``; what is left here was
inconclusive or is still open:

* ``intake-pool``: on PostgreSQL, the ack path's writes (``_write(urgent=True)``)
  get a small connection pool of their own instead of queueing for the one
  the job worker fills;
* ``gc-freeze``: ``gc.freeze()`` once the bot is ready, so the long-lived
  start-up objects no longer lengthen every full garbage collection.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any


def intake_pool() -> None:
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    from app.store import sessions
    from app.store.engine import writer

    original_init = sessions.StoreSessions.__init__
    original_write = sessions.StoreSessions._write

    def __init__(self: Any, engine: Any, *, clock: Any) -> None:
        original_init(self, engine, clock=clock)
        self._intake_writes = None
        if engine.dialect.name == "postgresql":
            # A few connections only the ack path uses, so it never queues behind the worker.
            own = create_async_engine(engine.url, pool_size=2, max_overflow=2, pool_pre_ping=True)
            self._intake_writes = async_sessionmaker(writer(own), expire_on_commit=False)

    def _write(self: Any, *, urgent: bool = False) -> Any:
        if urgent and self._intake_writes is not None:
            return self._intake_writes.begin()
        return original_write(self, urgent=urgent)

    sessions.StoreSessions.__init__ = __init__  # type: ignore[method-assign]
    sessions.StoreSessions._write = _write  # type: ignore[method-assign]


def gc_freeze() -> None:
    import gc

    from app.slack.server import Bot

    original = Bot.start

    async def start(self: Any) -> None:
        await original(self)
        # Everything built at start-up lives as long as the process: keep it out of
        # the cyclic collector, so a full collection has far fewer objects to walk.
        gc.collect()
        gc.freeze()

    Bot.start = start  # type: ignore[method-assign]


EXPERIMENTS: dict[str, Callable[[], None]] = {
    "intake-pool": intake_pool,
    "gc-freeze": gc_freeze,
}


def apply(names: list[str]) -> None:
    unknown = [n for n in names if n not in EXPERIMENTS]
    if unknown:
        raise SystemExit(f"unknown experiment(s) {unknown}; known: {', '.join(EXPERIMENTS)}")
    for name in names:
        EXPERIMENTS[name]()


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        raise SystemExit(0 if len(sys.argv) >= 2 else 2)
    apply([n for n in sys.argv[1].split(",") if n])
    from app.cli import main as tactful

    sys.argv = ["tactful", *sys.argv[2:]]
    tactful()


if __name__ == "__main__":
    main()

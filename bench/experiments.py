"""Prototypes of app changes the load bench suggests, to measure before anyone edits ``app/``.

Each experiment monkeypatches the app in this process only, then hands over
to the real ``tactful`` CLI.  They are measuring tools, not fixes: the
change they stand for is described in ``bench/README.md`` and belongs in
``app/``.  ``serve_load --experiment NAME[,NAME]`` starts the bot this way::

    python -m bench.experiments warm-llm,sqlite-writer-turns serve --port 3000

* ``warm-llm``: build the OpenAI SDK's lazily imported ``chat.completions``
  resource and the two response schemas when the client is created, not
  on the first complaint (that first access blocks the event loop ~0.5 s);
* ``sqlite-writer-turns``: on a SQLite file, writers of one process queue
  on an ``asyncio.Lock`` before ``BEGIN IMMEDIATE`` instead of all taking
  SQLite's busy handler, which sleeps with back-off and serves nobody in order;
* ``skip-top-level-supersede``: a top-level message cannot supersede
  anything (its thread has nothing older), so skip that write transaction;
* ``schema-cache``: build each response format's JSON schema once per
  model class instead of on every request;
* ``intake-first-writes``: like ``sqlite-writer-turns``, but writes made on
  the ack path (dedupe, supersede, accept) go before queued job writes;
* ``intake-pool``: on PostgreSQL, the ack path's writes get a small
  connection pool of their own instead of queueing for the one the job
  worker fills;
* ``gc-freeze``: ``gc.freeze()`` once the bot is ready, so the long-lived
  start-up objects no longer lengthen every full garbage collection.
"""

from __future__ import annotations

import asyncio
import functools
import sys
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from contextvars import ContextVar
from typing import Any


def warm_llm() -> None:
    from app.domain.models import DraftOutput, TriageOutput
    from app.llm import _client
    from app.llm._schema import json_schema_response_format

    original = _client.LLMClient.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self._openai.chat.completions  # noqa: B018 (the attribute access is the import)
        for schema in (TriageOutput, DraftOutput):
            json_schema_response_format(schema)

    _client.LLMClient.__init__ = __init__  # type: ignore[method-assign]


def sqlite_writer_turns() -> None:
    from app.store import sessions
    from app.store.engine import is_memory_sqlite

    original = sessions.StoreSessions.__init__

    def __init__(self: Any, engine: Any, *, clock: Any) -> None:
        original(self, engine, clock=clock)
        file_sqlite = engine.dialect.name == "sqlite" and not is_memory_sqlite(engine)
        turns: AbstractAsyncContextManager[object] = (
            asyncio.Lock() if file_sqlite else nullcontext()
        )
        self._writer_turns = turns

    @asynccontextmanager
    async def _write(self: Any) -> AsyncIterator[Any]:
        async with self._writer_turns, self._one_at_a_time, self._write_sessions.begin() as s:
            yield s

    sessions.StoreSessions.__init__ = __init__  # type: ignore[method-assign]
    sessions.StoreSessions._write = _write  # type: ignore[method-assign]


class WriterTurns:
    """An asyncio lock handed over in order, intake waiters (the ack path) first."""

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
                    self._hand_over()  # it was our turn: give it to the next one
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


_INTAKE: ContextVar[bool] = ContextVar("bench_intake", default=False)


def intake_first_writes() -> None:
    from app.store import sessions
    from app.store.engine import is_memory_sqlite

    original = sessions.StoreSessions.__init__

    def __init__(self: Any, engine: Any, *, clock: Any) -> None:
        original(self, engine, clock=clock)
        file_sqlite = engine.dialect.name == "sqlite" and not is_memory_sqlite(engine)
        self._writer_turns = WriterTurns() if file_sqlite else None

    @asynccontextmanager
    async def _write(self: Any) -> AsyncIterator[Any]:
        turns = self._writer_turns
        turn = turns.turn(urgent=_INTAKE.get()) if turns is not None else nullcontext()
        async with turn, self._one_at_a_time, self._write_sessions.begin() as session:
            yield session

    sessions.StoreSessions.__init__ = __init__  # type: ignore[method-assign]
    sessions.StoreSessions._write = _write  # type: ignore[method-assign]
    _mark_intake_methods()


def intake_pool() -> None:
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    from app.store import sessions
    from app.store.engine import writer

    original = sessions.StoreSessions.__init__
    original_write = sessions.StoreSessions._write

    def __init__(self: Any, engine: Any, *, clock: Any) -> None:
        original(self, engine, clock=clock)
        self._intake_writes = None
        if engine.dialect.name == "postgresql":
            # A few connections only the ack path uses, so it never queues behind the worker.
            own = create_async_engine(engine.url, pool_size=2, max_overflow=2, pool_pre_ping=True)
            self._intake_writes = async_sessionmaker(writer(own), expire_on_commit=False)

    def _write(self: Any) -> Any:
        if _INTAKE.get() and self._intake_writes is not None:
            return self._intake_writes.begin()
        return original_write(self)

    sessions.StoreSessions.__init__ = __init__  # type: ignore[method-assign]
    sessions.StoreSessions._write = _write  # type: ignore[method-assign]
    _mark_intake_methods()


def _mark_intake_methods() -> None:
    from app.store.drafts import DraftQueries
    from app.store.intake import IntakeQueries

    for owner, name in (
        (IntakeQueries, "first_delivery"),
        (IntakeQueries, "forget_delivery"),
        (IntakeQueries, "accept_complaint"),
        (DraftQueries, "supersede_thread"),
    ):
        method = getattr(owner, name, None)
        if method is not None and not getattr(method, "_bench_intake", False):
            setattr(owner, name, _as_intake(method))


def _as_intake(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    async def marked(*args: Any, **kwargs: Any) -> Any:
        token = _INTAKE.set(True)
        try:
            return await method(*args, **kwargs)
        finally:
            _INTAKE.reset(token)

    marked._bench_intake = True  # type: ignore[attr-defined]
    return marked


def skip_top_level_supersede() -> None:
    from app.store.drafts import DraftQueries

    original = DraftQueries.supersede_thread

    async def supersede_thread(
        self: Any, *, channel_id: str, thread_ts: str, newer_than_ts: str
    ) -> Any:
        if thread_ts == newer_than_ts:
            return []
        return await original(
            self, channel_id=channel_id, thread_ts=thread_ts, newer_than_ts=newer_than_ts
        )

    DraftQueries.supersede_thread = supersede_thread  # type: ignore[method-assign]


def schema_cache() -> None:
    from app.llm import _client

    # _client imported these by name; replacing them there is what the client will call.
    for name in ("json_schema_response_format", "json_object_response_format"):
        setattr(_client, name, functools.cache(getattr(_client, name)))


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
    "warm-llm": warm_llm,
    "sqlite-writer-turns": sqlite_writer_turns,
    "skip-top-level-supersede": skip_top_level_supersede,
    "schema-cache": schema_cache,
    "intake-first-writes": intake_first_writes,
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

"""SQLite through SQLAlchemy's aiosqlite dialect, but every call run at once on the loop.

aiosqlite hands each call (cursor, execute, fetch, close, commit) to a thread
of its own and wakes the event loop when it is done: nine hops for a one-row
write, each a turn of the loop.  Under a burst that was the largest share of
the bot's CPU (issue 8: ``aiosqlite Connection._execute`` alone 30 % of the
loop's samples), and since a write holds SQLite's one write lock across all
its hops, the lock was busy 90 % of the burst and Slack's acks queued for it.

A statement on a local SQLite file takes microseconds (WAL, synchronous=NORMAL:
no fsync at commit), less than one hop, so here each call runs right away on
the caller's thread and its future is already done when awaited: a
transaction no longer yields to the loop between its statements.  It cannot
wait on a lock held by this process either: its writes take turns in
``WriterTurns`` and never yield mid-transaction now, and WAL readers never
block.  Another *process* writing the same file (SQLite serves one bot; scale
out is PostgreSQL) would make a write wait in SQLite's busy handler, on the
loop, for at most the busy timeout.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Generator
from typing import Any

import aiosqlite
from sqlalchemy.engine import URL


class _RunNow:
    """Stands in for aiosqlite's queue to its thread: runs each call as it is queued."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as exc:  # handed to the awaiting caller, as aiosqlite does
            if future is not None:
                future.set_exception(exc)
            return
        if future is not None:
            future.set_result(result)


class InlineConnection(aiosqlite.Connection):
    """aiosqlite's connection without its thread (never started)."""

    def __init__(self, connector: Callable[[], Any], iter_chunk_size: int = 64) -> None:
        super().__init__(connector, iter_chunk_size)
        self._tx = _RunNow()  # type: ignore[assignment]

    def __await__(self) -> Generator[Any, None, aiosqlite.Connection]:
        return self._connect().__await__()


def inline_creator(url: URL) -> Callable[[], Awaitable[aiosqlite.Connection]]:
    """``create_async_engine(async_creator=...)`` for a ``sqlite+aiosqlite`` URL."""
    args, options = url.get_dialect()().create_connect_args(url)
    # Every call runs on the loop's thread, but a pool may be disposed of from another.
    options["check_same_thread"] = False

    def connector() -> sqlite3.Connection:
        # SQLAlchemy's own arguments for this URL (path, uri=, check_same_thread=).
        connection: sqlite3.Connection = sqlite3.connect(*args, **options)  # type: ignore[call-overload]
        return connection

    async def create() -> aiosqlite.Connection:
        return await InlineConnection(connector)

    return create

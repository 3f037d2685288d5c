"""Short transactions for the store's query mixins, and the clock they share.

Every public store method opens exactly one transaction here.  Writes go
through the "writer" engine so that on SQLite they start with BEGIN
IMMEDIATE (serialised, waits on the busy timeout); on PostgreSQL both are
ordinary READ COMMITTED transactions and the queries themselves carry the
atomicity (conditional UPDATE ... RETURNING, ON CONFLICT, SKIP LOCKED).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Executable, Interval, Result, func, literal, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from app.store.engine import IMMEDIATE_OPTION, is_memory_sqlite, sync_sqlite_engine, writer
from app.store.tables import Base, UTCDateTime
from app.store.writer_turns import WriterTurns

Clock = Callable[[], datetime]

# First key of the two-key advisory locks on one customer message; the
# two-key space never meets the one-key lock that migrations take.
_MESSAGE_LOCKS = 0x7AC7


def _message_key(channel_id: str, message_ts: str) -> int:
    digest = hashlib.blake2b(f"{channel_id}/{message_ts}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


Parameters = Mapping[str, Any] | None


class CoreConnection:
    """What the hot path's Core statements run on, on either kind of engine."""

    async def execute(self, statement: Executable, parameters: Parameters = None) -> Result[Any]:
        raise NotImplementedError

    async def scalar(self, statement: Executable, parameters: Parameters = None) -> Any:
        return (await self.execute(statement, parameters)).scalar()


class _AsyncCore(CoreConnection):
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def execute(self, statement: Executable, parameters: Parameters = None) -> Result[Any]:
        return await self._connection.execute(statement, parameters)


class _SyncCore(CoreConnection):
    """A SQLite file's statement, run at once: no greenlet, no async adapter.

    SQLite calls run on the loop anyway (inline_sqlite.py); through SQLAlchemy's
    async layer a one-row write transaction cost about 200 µs of CPU, through
    its sync layer about 60 µs, for the same statements, types and rows.
    """

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def execute(self, statement: Executable, parameters: Parameters = None) -> Result[Any]:
        return self._connection.execute(statement, parameters)


async def _let_others_run() -> None:
    # A sync call never suspends: without this, a task that loops over store calls
    # (a runner draining a queue) would hold the loop, as no I/O-bound call would.
    await asyncio.sleep(0)


class StoreSessions:
    """The engine, its two session factories and the clock; base of every query mixin."""

    def __init__(self, engine: AsyncEngine, *, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock
        # expire_on_commit=False: rows are turned into frozen records after
        # commit without another round trip.
        self._read_sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._writer_engine = writer(engine)
        self._write_sessions = async_sessionmaker(self._writer_engine, expire_on_commit=False)
        # An in-memory SQLite database lives on a single shared connection,
        # which cannot hold two transactions: take turns in this process
        # (no other process can see that database anyway).
        self._one_at_a_time: AbstractAsyncContextManager[object] = (
            asyncio.Lock() if is_memory_sqlite(engine) else nullcontext()
        )
        file_sqlite = engine.dialect.name == "sqlite" and not is_memory_sqlite(engine)
        self._writer_turns = WriterTurns() if file_sqlite else None
        # The hot path's second engine on the same file (see _SyncCore); its writes
        # take the same turns, so the two never wait on each other's lock.
        self._sync_engine = sync_sqlite_engine(engine) if file_sqlite else None
        # PostgreSQL: one statement is atomic on its own, and in autocommit it is one
        # round trip instead of three (BEGIN, the statement, COMMIT); see _write_one.
        self._autocommit_engine = (
            engine.execution_options(isolation_level="AUTOCOMMIT")
            if engine.dialect.name == "postgresql"
            else None
        )
        # BEGIN IMMEDIATE set once on the engine: per connection it was a branch
        # and an options merge on every write.
        self._sync_writer = (
            self._sync_engine.execution_options(**{IMMEDIATE_OPTION: True})
            if self._sync_engine is not None
            else None
        )

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    @property
    def dialect_name(self) -> str:
        return self._engine.dialect.name

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncSession]:
        async with self._one_at_a_time, self._read_sessions() as session:
            yield session

    @asynccontextmanager
    async def _read_core(self) -> AsyncIterator[CoreConnection]:
        """A read on a bare connection: for Core statements on the hot path.

        Skips the ORM session (its unit of work, identity map and ORM
        execution path), which costs more CPU than the statements themselves.
        """
        if self._sync_engine is not None:
            with self._sync_engine.connect() as connection:
                yield _SyncCore(connection)
            await _let_others_run()
            return
        async with self._one_at_a_time, self._engine.connect() as connection:
            yield _AsyncCore(connection)

    @asynccontextmanager
    async def _write(self, *, urgent: bool = False) -> AsyncIterator[AsyncSession]:
        """One transaction, committed on exit, rolled back on any exception.

        ``urgent`` marks writes a Slack ack waits for; on a SQLite file they
        jump the queue of this process's writers.
        """
        turns = self._writer_turns
        if turns is None:
            async with self._one_at_a_time, self._write_sessions.begin() as session:
                yield session
            return
        # A SQLite file: commit at once. SQLAlchemy's context manager commits in a new
        # task, so the loop would run other work while this transaction holds the write
        # lock, and SQLite calls run on the loop (inline_sqlite.py): another store's
        # BEGIN IMMEDIATE would then wait out the busy timeout with the loop stopped.
        async with turns.turn(urgent=urgent):
            session = self._write_sessions()
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise
            finally:
                await session.close()

    @asynccontextmanager
    async def _write_core(self, *, urgent: bool = False) -> AsyncIterator[CoreConnection]:
        """``_write`` on a bare connection: for Core statements on the hot path.

        The same turns and BEGIN IMMEDIATE as ``_write``, without the ORM
        session, whose per-transaction CPU was most of a one-row write's.
        """
        turns, sync = self._writer_turns, self._sync_writer
        if turns is None or sync is None:
            async with self._one_at_a_time, self._writer_engine.begin() as connection:
                yield _AsyncCore(connection)
            return
        async with turns.turn(urgent=urgent):
            with sync.begin() as connection:
                yield _SyncCore(connection)
        await _let_others_run()

    @asynccontextmanager
    async def _write_one(self, *, urgent: bool = False) -> AsyncIterator[CoreConnection]:
        """``_write_core`` for a block that runs exactly one statement.

        On PostgreSQL the statement runs in autocommit: under READ COMMITTED a
        single statement is as atomic (and its row locks last as long) as in a
        transaction of its own.  A second statement in the block would commit
        on its own: use ``_write_core`` for that.
        """
        if self._autocommit_engine is None:
            async with self._write_core(urgent=urgent) as connection:
                yield connection
            return
        async with self._autocommit_engine.connect() as connection:
            yield _AsyncCore(connection)

    def _lease_time(self, after_s: float = 0.0) -> ColumnElement[datetime]:
        """``after_s`` seconds from now, by the clock every host agrees on.

        On PostgreSQL that is the database's clock, so a host whose clock runs
        ahead never takes a job whose lease is still running elsewhere.  A
        SQLite file has one host, so its clock (injectable in tests) is it.
        """
        if self.dialect_name == "postgresql":
            return func.now() + literal(timedelta(seconds=after_s), Interval())
        return literal(self._clock() + timedelta(seconds=after_s), UTCDateTime())

    async def _lock_message(
        self, session: AsyncSession | CoreConnection, channel_id: str, message_ts: str
    ) -> None:
        """Until this transaction ends, other writers of this customer message wait.

        What must hold across rows (one reply per message, one complaint per
        message asked for) is checked after this lock on PostgreSQL, where
        READ COMMITTED lets two transactions miss each other's new rows.
        SQLite writers already take turns (BEGIN IMMEDIATE).
        """
        if self.dialect_name != "postgresql":
            return
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:space, :key)"),
            {"space": _MESSAGE_LOCKS, "key": _message_key(channel_id, message_ts)},
        )

    def _insert(self, table: type[Base]) -> Any:
        """An INSERT that understands ON CONFLICT DO NOTHING on this backend."""
        if self.dialect_name == "postgresql":
            # Here, not at the top: a bot on SQLite never loads this dialect (about 2 MB).
            from sqlalchemy.dialects import postgresql

            return postgresql.insert(table)
        return sqlite.insert(table)

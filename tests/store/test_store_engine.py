"""Database URLs as users write them, and the SQLite connection settings."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine

from app.store import DatabaseURLError, Store, async_url, create_store_engine
from app.store.engine import IMMEDIATE_OPTION


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("sqlite:///./tactful.db", "sqlite+aiosqlite:///./tactful.db"),
        ("sqlite:////var/lib/tactful/t.db", "sqlite+aiosqlite:////var/lib/tactful/t.db"),
        ("postgresql://bot@db.internal:5432/tactful",
         "postgresql+asyncpg://bot@db.internal:5432/tactful"),
        ("postgres://bot:s3cret@db:5432/tactful", "postgresql+asyncpg://bot:s3cret@db:5432/tactful"),
        ("postgresql+asyncpg://bot@db/tactful", "postgresql+asyncpg://bot@db/tactful"),
        ("postgresql+psycopg2://bot@db/tactful", "postgresql+asyncpg://bot@db/tactful"),
    ],
)
def test_a_user_written_url_gets_the_async_driver(written: str, expected: str) -> None:
    assert async_url(written) == expected


def test_libpq_sslmode_becomes_asyncpg_ssl() -> None:
    # Heroku, RDS and most hosted Postgres print URLs like this one.
    url = async_url("postgres://bot@db.example.com:5432/tactful?sslmode=require")
    assert url == "postgresql+asyncpg://bot@db.example.com:5432/tactful?ssl=require"


def test_a_libpq_only_parameter_is_named_in_the_error() -> None:
    with pytest.raises(DatabaseURLError, match="sslrootcert"):
        async_url("postgresql://bot@db/tactful?sslmode=verify-full&sslrootcert=/ca.pem")


def test_an_unsupported_database_is_refused_with_what_to_write() -> None:
    with pytest.raises(DatabaseURLError, match="postgresql://"):
        async_url("mysql://bot@db/tactful")
    with pytest.raises(DatabaseURLError, match="sqlite:///"):
        async_url("not a url")


async def test_sqlite_connections_use_wal_and_wait_for_locks(tmp_path: Path) -> None:
    engine = create_store_engine(f"sqlite:///{tmp_path / 't.db'}")
    try:
        async with engine.connect() as connection:
            journal = (await connection.execute(text("PRAGMA journal_mode"))).scalar_one()
            busy = (await connection.execute(text("PRAGMA busy_timeout"))).scalar_one()
            foreign_keys = (await connection.execute(text("PRAGMA foreign_keys"))).scalar_one()
    finally:
        await engine.dispose()
    assert (journal, busy, foreign_keys) == ("wal", 5000, 1)


async def test_an_in_memory_store_serves_concurrent_tasks_of_one_process() -> None:
    # `tactful draft` and quick experiments may run without a file.
    store = await Store.open("sqlite://")
    try:
        outcomes = await asyncio.gather(*[store.first_delivery(event_id="Ev1")
                                          for _ in range(10)])
        job_ids = await asyncio.gather(*[store.enqueue(kind="draft", complaint_id=None)
                                         for _ in range(10)])
    finally:
        await store.close()
    assert outcomes.count(True) == 1
    assert len(set(job_ids)) == 10


async def test_a_pooled_postgres_connection_killed_while_idle_is_replaced_not_failed(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A failover kills idle pooled connections: the next store call still works."""
    monkeypatch.setattr("app.store.engine.STALE_AFTER_S", 0.0)
    store = await Store.open(postgres_url, migrate=False)
    try:
        assert await store.pending_job_count() >= 0  # one connection now waits in the pool
        killer = create_store_engine(postgres_url)
        async with killer.connect() as connection:
            killed = await connection.scalar(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ))
        await killer.dispose()
        assert killed >= 1
        assert await store.pending_job_count() >= 0
    finally:
        await store.close()


async def test_a_postgres_connection_in_steady_use_is_not_pinged(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Under load a ping per checkout would double the round trips."""
    store = await Store.open(postgres_url, migrate=False)
    pings: list[object] = []
    try:
        await store.pending_job_count()
        pooled = store.engine.sync_engine.pool.connect()
        adapter = type(pooled.dbapi_connection)
        pooled.close()
        original = adapter.ping
        monkeypatch.setattr(adapter, "ping", lambda self: pings.append(self) or original(self))
        for _ in range(5):
            await store.pending_job_count()
    finally:
        await store.close()
    assert pings == []


async def test_on_a_sqlite_file_writes_begin_immediate_and_reads_do_not(tmp_path: Path) -> None:
    begun: list[bool] = []

    def on_begin(connection: Connection) -> None:
        begun.append(bool(connection.get_execution_options().get(IMMEDIATE_OPTION)))

    store = await Store.open(f"sqlite:///{tmp_path / 'begin.db'}")
    event.listen(Engine, "begin", on_begin)
    try:
        await store.first_delivery(event_id="Ev0W")  # a hot-path write
        await store.draft_job_start(complaint_id=1)  # a hot-path read
    finally:
        event.remove(Engine, "begin", on_begin)
        await store.close()
    # A write that began deferred would take SQLite's lock only at its first
    # write, and could fail there with SQLITE_BUSY instead of waiting its turn.
    assert begun == [True, False]

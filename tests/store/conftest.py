"""Fixtures for the store tests: every story runs on SQLite and on PostgreSQL.

The PostgreSQL server is the shared test server (``tests/conftest.py``,
``tests/fakes/scratch_postgres.py``).  Each session creates one database,
migrates it and drops it at the end; tests empty its tables before they run.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from app.store import Store, migrate
from tests.factories import StoreFactory
from tests.fakes.clocks import SteppingClock
from tests.fakes.scratch_postgres import PostgresServer

__all__ = ["SteppingClock", "StoreFactory", "StoreOpener"]

TABLES = "decisions, drafts, jobs, complaints, slack_events, commitments, incidents, incident_members"


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A migrated database for the whole session, dropped at the end."""
    name = asyncio.run(postgres_server.create_database())
    url = postgres_server.url(name)
    try:
        asyncio.run(migrate(url))
        yield url
    finally:
        asyncio.run(postgres_server.drop_database(name))


async def _empty_tables(url: str) -> None:
    parsed = make_url(url)
    connection = await asyncpg.connect(host=parsed.host, port=parsed.port,
                                       user=parsed.username, database=parsed.database)
    try:
        await connection.execute(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
    finally:
        await connection.close()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database of each kind.

    Synchronous on purpose: the session-wide postgres fixtures run their own
    event loop, which cannot start inside the test's running loop.
    """
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tactful.db'}"
    url: str = request.getfixturevalue("postgres_url")
    asyncio.run(_empty_tables(url))
    return url


StoreOpener = Callable[..., Awaitable[Store]]


@pytest.fixture
async def open_store(database_url: str) -> AsyncIterator[StoreOpener]:
    """Open as many Store instances (think: bot processes) as a story needs."""
    opened: list[Store] = []

    async def opener(**kwargs: object) -> Store:
        store = await Store.open(database_url, **kwargs)  # type: ignore[arg-type]
        opened.append(store)
        return store

    yield opener
    for store in opened:
        await store.close()


@pytest.fixture
async def store(open_store: StoreOpener) -> Store:
    return await open_store()


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock()


@pytest.fixture
def factory() -> StoreFactory:
    return StoreFactory()

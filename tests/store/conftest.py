"""Fixtures for the store tests: every story runs on SQLite and on PostgreSQL.

PostgreSQL is expected at 127.0.0.1:5432 with trust auth (user ``postgres``
or the current user) and an existing database ``test``; override with
``TACTFUL_TEST_POSTGRES_URL`` (e.g. ``postgresql://postgres@db:5432/test``).
Each session creates ``tactful_test_<random>``, migrates it and drops it at
the end; tests empty its tables before they run.  Without a server the
postgres variants are skipped locally, but fail when ``CI`` is set.
"""

from __future__ import annotations

import asyncio
import getpass
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from app.domain.models import DraftResult, Flag, ProposedOffer, Step, TokenUsage, Triage
from app.store import NewComplaint, Store, migrate

TABLES = "decisions, drafts, jobs, complaints, slack_events"


@dataclass(frozen=True)
class PostgresServer:
    """Where the test server is and how to reach its maintenance database."""

    host: str
    port: int
    user: str
    admin_database: str

    def url(self, database: str) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"

    async def admin(self) -> asyncpg.Connection:
        return await asyncpg.connect(host=self.host, port=self.port, user=self.user,
                                     database=self.admin_database, timeout=5)

    async def create_database(self) -> str:
        name = f"tactful_test_{uuid.uuid4().hex[:12]}"
        connection = await self.admin()
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()
        return name

    async def drop_database(self, name: str) -> None:
        connection = await self.admin()
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()


def _candidates() -> list[PostgresServer]:
    explicit = os.environ.get("TACTFUL_TEST_POSTGRES_URL")
    if explicit:
        url = make_url(explicit)
        return [PostgresServer(url.host or "127.0.0.1", url.port or 5432,
                               url.username or "postgres", url.database or "test")]
    users = dict.fromkeys(["postgres", getpass.getuser()])
    return [PostgresServer("127.0.0.1", 5432, user, "test") for user in users]


async def _reachable() -> tuple[PostgresServer | None, str]:
    errors = []
    for server in _candidates():
        try:
            connection = await server.admin()
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
            errors.append(f"{server.user}@{server.host}:{server.port}: {exc!r}")
            continue
        await connection.close()
        return server, ""
    return None, "; ".join(errors)


@pytest.fixture(scope="session")
def postgres_server() -> PostgresServer:
    server, why = asyncio.run(_reachable())
    if server is None:
        message = f"PostgreSQL is not reachable for the store tests ({why})"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI must run them", pytrace=False)
        pytest.skip(message)
    return server


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


@pytest.fixture
async def fresh_postgres_url(postgres_server: PostgresServer) -> AsyncIterator[str]:
    """An empty database (no tables at all), dropped after the test."""
    name = await postgres_server.create_database()
    try:
        yield postgres_server.url(name)
    finally:
        await postgres_server.drop_database(name)


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


class SteppingClock:
    """A clock the test moves by hand, so times in stats are known exactly."""

    def __init__(self) -> None:
        self.now = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock()


class StoreFactory:
    """Builds the complaints, draft results and pending drafts the stories start from."""

    def complaint(self, ts: str = "1712000000.000100", *, channel: str = "C_SUPPORT",
                  thread_ts: str | None = None, source: str = "watch",
                  text: str = "My parcel arrived crushed and nobody answers.") -> NewComplaint:
        return NewComplaint(team_id="T1", channel_id=channel, message_ts=ts,
                            thread_ts=thread_ts, user_id="U_CUSTOMER", user_name="Dana",
                            text=text, source=source)  # type: ignore[arg-type]

    def result(self, *, text: str = "I'm so sorry your parcel arrived crushed.",
               category: str = "delivery", tokens: tuple[int, int] = (300, 120)) -> DraftResult:
        return DraftResult(
            text=text,
            offers=[
                ProposedOffer(offer_id="replacement_express", label="Express replacement",
                              why_it_helps="A new one arrives by Friday."),
                ProposedOffer(offer_id="credit", label="Store credit", amount=10,
                              unit="amount", currency="EUR", why_it_helps="For the trouble."),
                ProposedOffer(offer_id="refund", label="Full refund", why_it_helps="No wait."),
            ],
            checklist={step: step is not Step.CLARIFY for step in Step},
            flags=[Flag(code="needs_escalation", message="Customer mentions a lawyer.")],
            follow_up="Check on Friday that the replacement arrived.",
            triage=Triage(kind="complaint", needs_reply=True, category=category,
                          urgency="high", sentiment="angry", language="en",
                          needs_escalation=False, escalation_reasons=[],
                          summary="Parcel arrived crushed."),
            prompt_version="draft@3f2a9c",
            model="test-model",
            usage=TokenUsage(prompt_tokens=tokens[0], completion_tokens=tokens[1]),
            llm_ms=842.5,
        )

    async def pending_draft(self, store: Store, ts: str = "1712000000.000100", *,
                            category: str = "delivery", thread_ts: str | None = None) -> int:
        """A complaint drafted all the way to a pending card; returns the draft id."""
        accepted = await store.accept_complaint(
            complaint=self.complaint(ts, thread_ts=thread_ts))
        assert accepted is not None
        draft = await store.start_draft(complaint_id=accepted.complaint_id)
        draft = await store.save_draft_result(draft_id=draft.id,
                                              result=self.result(category=category))
        assert draft.status == "pending"
        return draft.id


@pytest.fixture
def factory() -> StoreFactory:
    return StoreFactory()

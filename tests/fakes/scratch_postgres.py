"""Throw-away PostgreSQL databases on a real local server, for tests and the load bench.

The store tests, the multi-instance stories and ``serve_load --postgres`` all
start the bot on a database of their own, created empty and dropped WITH
(FORCE) afterwards, as a real deployment starts on an empty database.

Tests look for a server at 127.0.0.1:5432 with trust auth (user ``postgres``
or the current user) and an existing maintenance database ``test``;
``TACTFUL_TEST_POSTGRES_URL`` (e.g. ``postgresql://postgres@db:5432/test``)
overrides that.  The bench names its server with ``--postgres``.
"""

from __future__ import annotations

import getpass
import os
import uuid
from dataclasses import dataclass

import asyncpg
from sqlalchemy.engine import make_url

TEST_SERVER_ENV = "TACTFUL_TEST_POSTGRES_URL"


@dataclass(frozen=True)
class PostgresServer:
    """Where a server is, and how to reach its maintenance database."""

    host: str
    port: int
    user: str
    admin_database: str
    password: str | None = None

    @classmethod
    def from_url(cls, url: str, *, admin_database: str = "postgres") -> PostgresServer:
        """``postgresql://user[:password]@host:port[/admin_database]``."""
        parsed = make_url(url)
        return cls(
            parsed.host or "127.0.0.1",
            parsed.port or 5432,
            parsed.username or "postgres",
            parsed.database or admin_database,
            parsed.password,
        )

    def url(self, database: str) -> str:
        """The bot's ``TACTFUL_DATABASE_URL`` for ``database`` on this server."""
        password = f":{self.password}" if self.password else ""
        return f"postgresql://{self.user}{password}@{self.host}:{self.port}/{database}"

    async def connect(self, database: str | None = None) -> asyncpg.Connection:
        return await asyncpg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            database=database or self.admin_database,
            timeout=5,
        )

    async def create_database(self, prefix: str = "tactful_test") -> str:
        """An empty database with a name of its own; returns the name."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        admin = await self.connect()
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        return name

    async def drop_database(self, name: str) -> None:
        admin = await self.connect()
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def _test_candidates() -> list[PostgresServer]:
    explicit = os.environ.get(TEST_SERVER_ENV)
    if explicit:
        return [PostgresServer.from_url(explicit, admin_database="test")]
    users = dict.fromkeys(["postgres", getpass.getuser()])
    return [PostgresServer("127.0.0.1", 5432, user, "test") for user in users]


async def find_test_server() -> tuple[PostgresServer | None, str]:
    """The first test server that answers, or None and why none did."""
    errors = []
    for server in _test_candidates():
        try:
            connection = await server.connect()
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
            errors.append(f"{server.user}@{server.host}:{server.port}: {exc!r}")
            continue
        await connection.close()
        return server, ""
    return None, "; ".join(errors)

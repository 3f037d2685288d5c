"""The database URL as a user writes it, and the async engine built from it.

Users configure ``TACTFUL_DATABASE_URL`` the way SQLAlchemy, libpq and Heroku
print it (``sqlite:///./tactful.db``, ``postgres://u@h/db?sslmode=require``);
this module owns turning that into an async driver URL and an engine whose
connections behave the same way on every backend: SQLite gets WAL, a busy
timeout and real transactions (so a conditional UPDATE is atomic across
processes), asyncpg gets only the connect arguments it understands.
"""

from __future__ import annotations

import re
import time
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.store.inline_sqlite import inline_creator

SQLITE_BUSY_TIMEOUT_MS = 5000
# Connections per instance to PostgreSQL (its default max_connections is 100).
POSTGRES_POOL_SIZE = 20
# A pooled PostgreSQL connection idle longer than this is pinged before use.
STALE_AFTER_S = 10.0

# Execution option that asks the SQLite begin hook for BEGIN IMMEDIATE: the
# write lock is taken before the first read, so read-then-write transactions
# cannot interleave with another writer (and never fail with SQLITE_BUSY
# halfway; they wait up to the busy timeout instead).
IMMEDIATE_OPTION = "tactful_sqlite_immediate"

_POSTGRES_NAMES = {"postgres", "postgresql", "postgresql+asyncpg", "postgresql+psycopg2",
                   "postgresql+psycopg", "postgresql+pg8000"}
_SQLITE_NAMES = {"sqlite", "sqlite+pysqlite", "sqlite+aiosqlite"}

# libpq spells these differently from asyncpg.connect(); anything else libpq-only
# would make asyncpg raise "unexpected keyword argument", so we name it instead.
_LIBPQ_ONLY = {"sslcert", "sslkey", "sslrootcert", "sslcrl", "target_session_attrs",
               "gssencmode", "channel_binding", "options", "keepalives", "keepalives_idle"}


class DatabaseURLError(ValueError):
    """The database URL cannot be used; the message says what to write instead."""


# user:password@ in a URL SQLAlchemy could not parse, so hide_password cannot help.
# Up to the last "@" before the host, since a raw password may hold an "@" too.
_URL_PASSWORD = re.compile(r"(://[^:/@\s]{0,256}:)[^\s/]{1,1024}@")


def masked_url(url: str) -> str:
    """``url`` with its password replaced by ``***``, even when it does not parse."""
    return _URL_PASSWORD.sub(r"\1***@", url)


def _parse(url: str) -> URL:
    try:
        return make_url(url.strip())
    except Exception:  # sqlalchemy raises ArgumentError with a terse message
        # A start-up error is printed and logged: the password stays out of it.
        raise DatabaseURLError(
            f"TACTFUL_DATABASE_URL {masked_url(url)!r} is not a database URL; "
            "write e.g. sqlite:///./tactful.db or postgresql://user@host:5432/db"
        ) from None


def async_url(url: str) -> str:
    """Map a user-written database URL to its async-driver form.

    ``sqlite://`` becomes ``sqlite+aiosqlite://``; ``postgres://`` and
    ``postgresql[+driver]://`` become ``postgresql+asyncpg://`` with libpq's
    ``sslmode`` renamed to asyncpg's ``ssl``.
    """
    parsed = _parse(url)
    name = parsed.drivername
    if name in _SQLITE_NAMES:
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if name in _POSTGRES_NAMES:
        query = dict(parsed.query)
        if "sslmode" in query:
            query["ssl"] = query.pop("sslmode")
        unsupported = sorted(set(query) & _LIBPQ_ONLY)
        if unsupported:
            raise DatabaseURLError(
                f"database URL parameter(s) {', '.join(unsupported)} are libpq-only and the "
                "asyncpg driver cannot use them; remove them (sslmode=... is supported)"
            )
        rebuilt = parsed.set(drivername="postgresql+asyncpg", query=query)
        return rebuilt.render_as_string(hide_password=False)
    raise DatabaseURLError(
        f"database URL scheme {name!r} is not supported; use sqlite:///path.db or "
        "postgresql://user@host:port/db"
    )


def _postgres_connect_args(url: URL) -> tuple[URL, dict[str, Any]]:
    """Move libpq parameters that need a type or a different place into connect_args."""
    query = dict(url.query)
    connect_args: dict[str, Any] = {}
    timeout = query.pop("connect_timeout", None)
    if isinstance(timeout, str):
        connect_args["timeout"] = float(timeout)
    app_name = query.pop("application_name", None)
    if isinstance(app_name, str):
        connect_args["server_settings"] = {"application_name": app_name}
    return url.set(query=query), connect_args


def _install_sqlite_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand BEGIN over to the "begin" hook below: pysqlite's own
        # transaction handling skips BEGIN for SELECT and DDL.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # busy_timeout first: switching to WAL needs a lock another process may hold.
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(IMMEDIATE_OPTION, False)
        # Straight to the driver: a statement through SQLAlchemy's execution
        # machinery cost more CPU than the BEGIN, twice per transaction on the hot path.
        cursor = conn.connection.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
        finally:
            cursor.close()


def create_store_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """Build the async engine for a user-written database URL."""
    parsed = make_url(async_url(url))
    if parsed.get_backend_name() == "sqlite":
        # Each SQLite call runs at once on the loop, not via aiosqlite's thread (why: there).
        engine = create_async_engine(parsed, echo=echo, async_creator=inline_creator(parsed))
        _install_sqlite_hooks(engine.sync_engine)
        return engine
    parsed, connect_args = _postgres_connect_args(parsed)
    engine = create_async_engine(
        parsed,
        echo=echo,
        connect_args=connect_args,
        # A burst runs hundreds of jobs at once: connections beyond a pool of 5
        # were opened and closed per transaction (about 13 ms of server CPU each,
        # issue 8's scale-out run). A fixed pool is reused; extra callers wait.
        pool_size=POSTGRES_POOL_SIZE,
        max_overflow=0,
    )
    _ping_stale_connections(engine.sync_engine)
    return engine


def _ping_stale_connections(engine: Engine) -> None:
    """``pool_pre_ping``, but only for a connection that sat idle for a while.

    A failover or an idle timeout kills connections that wait in the pool;
    one in use a moment ago is alive, and pinging it before every transaction
    doubled the round trips under load.
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < STALE_AFTER_S:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:
            # The pool drops this connection and checks out (or opens) another.
            raise DisconnectionError("a pooled connection did not answer a ping") from exc


def sync_sqlite_engine(engine: AsyncEngine) -> Engine:
    """The same SQLite file through the stdlib driver, with the same hooks (why: sessions.py)."""
    url = engine.url.set(drivername="sqlite")
    sync = create_engine(url, echo=engine.echo, connect_args={"check_same_thread": False})
    _install_sqlite_hooks(sync)
    return sync


def writer(engine: AsyncEngine) -> AsyncEngine:
    """The same engine, but transactions on SQLite start with BEGIN IMMEDIATE."""
    return engine.execution_options(**{IMMEDIATE_OPTION: True})


def is_postgres(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "postgresql"


def is_memory_sqlite(engine: AsyncEngine) -> bool:
    """True for ``sqlite://`` / ``sqlite:///:memory:``: one connection, one process."""
    url = engine.url
    return engine.dialect.name == "sqlite" and (
        url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"
    )

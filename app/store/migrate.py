"""Schema migrations at start-up: Alembic ``upgrade head`` run from code.

Users never need an alembic.ini: the Alembic config is built here with
``script_location`` inside the installed package.  On PostgreSQL the upgrade
runs under a transaction-scoped advisory lock, so two instances starting at
once on an empty database take turns (the second finds the schema at head);
on SQLite the upgrade transaction begins IMMEDIATE, which serialises it too.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.store.engine import create_store_engine, is_postgres, writer

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Arbitrary but fixed: every tactful instance must use the same key.
ADVISORY_LOCK_KEY = 0x7AC7F01


def alembic_config() -> Config:
    """An Alembic config pointing at the packaged migration scripts."""
    config = Config()
    # ConfigParser interpolates '%'; a path containing one must be escaped.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    return config


def _upgrade_head(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def migrate_engine(engine: AsyncEngine) -> None:
    """Bring the database behind ``engine`` to the newest schema."""
    async with writer(engine).begin() as connection:
        if is_postgres(engine):
            await connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
            )
        await connection.run_sync(_upgrade_head)


async def migrate(url: str) -> None:
    """Create or upgrade the schema of the database at ``url`` (user-written URL)."""
    engine = create_store_engine(url)
    try:
        await migrate_engine(engine)
    finally:
        await engine.dispose()


def current_revision(connection: Connection) -> str | None:
    """The Alembic revision the database is at (None before the first migration)."""
    return MigrationContext.configure(connection).get_current_revision()

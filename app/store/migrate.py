"""Schema migrations at start-up: Alembic ``upgrade head`` run from code.

Users never need an alembic.ini: the Alembic config is built here with
``script_location`` inside the installed package.  On PostgreSQL the upgrade
runs under a transaction-scoped advisory lock, so two instances starting at
once on an empty database take turns (the second finds the schema at head);
on SQLite the upgrade transaction begins IMMEDIATE, which serialises it too.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.store.engine import create_store_engine, is_memory_sqlite, is_postgres, writer

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic (with Mako) is imported only when a migration runs: about 12 MB that a
# long-running server would otherwise hold for nothing (``migrate_in_child``).

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Arbitrary but fixed: every tactful instance must use the same key.
ADVISORY_LOCK_KEY = 0x7AC7F01


def alembic_config() -> Config:
    """An Alembic config pointing at the packaged migration scripts."""
    from alembic.config import Config

    config = Config()
    # ConfigParser interpolates '%'; a path containing one must be escaped.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    return config


def _upgrade_head(connection: Connection) -> None:
    from alembic import command

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
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


class MigrationFailed(Exception):
    """The child process could not migrate; the message is its last line of output."""


async def migrate_in_child(url: str) -> bool:
    """Migrate ``url`` in a short-lived child process, so this process never imports Alembic.

    For ``tactful serve``: the server then opens the store with ``migrate=False``.
    Returns False, doing nothing, for an in-memory SQLite database, which only
    this process can see (the caller migrates it in-process).  Raises
    ``MigrationFailed`` with the child's last output line when it fails.
    """
    engine = create_store_engine(url)
    try:
        if is_memory_sqlite(engine):
            return False
    finally:
        await engine.dispose()
    # The URL goes on stdin: a password in the arguments would show in ``ps``.
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app.store.migrate",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await child.communicate(url.encode())
    if child.returncode != 0:
        lines = output.decode(errors="replace").strip().splitlines()
        raise MigrationFailed(lines[-1] if lines else f"exit status {child.returncode}")
    return True


async def _child_main() -> int:
    from app.store.store import Store, StoreUnavailable

    try:
        store = await Store.open(sys.stdin.read())
    except StoreUnavailable as exc:
        print(exc)  # already says what to check, without the password
        return 1
    await store.close()
    return 0


if __name__ == "__main__":  # the child of migrate_in_child
    sys.exit(asyncio.run(_child_main()))

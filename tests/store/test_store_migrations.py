"""The schema is created at start, on an empty database, by one or several instances."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect

from app.store import Store, create_store_engine, migrate
from app.store.migrate import current_revision
from app.store.tables import Base

REPO = Path(__file__).resolve().parents[2]
HEAD = "0008"
EXPECTED_TABLES = {"alembic_version", "complaints", "decisions", "drafts", "jobs",
                   "slack_events", "commitments", "incidents", "incident_members",
                   "briefs"}


async def _schema(url: str) -> tuple[set[str], str | None, list[object]]:
    def read(connection: Connection) -> tuple[set[str], str | None, list[object]]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
        return set(inspect(connection).get_table_names()), current_revision(connection), \
            differences

    engine = create_store_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(read)
    finally:
        await engine.dispose()


async def _migrate_twice_then_check(url: str) -> None:
    await migrate(url)
    await migrate(url)  # a restart: nothing left to do, nothing breaks
    tables, revision, differences = await _schema(url)
    assert tables == EXPECTED_TABLES
    assert revision == HEAD
    # The migration scripts build exactly what tables.py declares.
    assert differences == []


async def test_a_new_sqlite_file_is_migrated_and_restarts_are_harmless(tmp_path: Path) -> None:
    await _migrate_twice_then_check(f"sqlite:///{tmp_path / 'tactful.db'}")


async def test_an_empty_postgres_database_is_migrated_and_restarts_are_harmless(
    fresh_postgres_url: str,
) -> None:
    await _migrate_twice_then_check(fresh_postgres_url)


async def _two_instances_start_at_once_then_check(url: str) -> None:
    first, second = await asyncio.gather(Store.open(url), Store.open(url))
    try:
        assert await first.first_delivery(event_id="Ev1") is True
        assert await second.first_delivery(event_id="Ev1") is False
    finally:
        await first.close()
        await second.close()
    tables, revision, _ = await _schema(url)
    assert tables == EXPECTED_TABLES and revision == HEAD


async def test_two_instances_starting_at_once_on_empty_postgres_both_work(
    fresh_postgres_url: str,
) -> None:
    await _two_instances_start_at_once_then_check(fresh_postgres_url)


async def test_two_instances_starting_at_once_on_a_new_sqlite_file_both_work(
    tmp_path: Path,
) -> None:
    await _two_instances_start_at_once_then_check(f"sqlite:///{tmp_path / 'shared.db'}")


def test_the_built_package_carries_every_migration_file(tmp_path: Path) -> None:
    """``Store.open`` migrates at start, so an installed bot needs alembic's files in the package."""
    source = tmp_path / "source"
    source.mkdir()
    shutil.copy(REPO / "pyproject.toml", source)
    shutil.copy(REPO / "README.md", source)
    shutil.copytree(REPO / "app", source / "app", ignore=shutil.ignore_patterns("__pycache__"))
    built = tmp_path / "built"

    subprocess.run(
        [sys.executable, "-W", "ignore", "-c", "import setuptools; setuptools.setup()",
         "-q", "build_py", "--build-lib", str(built)],
        cwd=source, check=True, capture_output=True, timeout=120,
    )

    migrations = Path("app", "store", "migrations")
    wanted = {p.relative_to(source) for p in (source / migrations).rglob("*") if p.is_file()}
    shipped = {p.relative_to(built) for p in (built / migrations).rglob("*") if p.is_file()}
    assert {migrations / "env.py", migrations / "alembic.ini"} <= wanted
    assert wanted - shipped == set()

"""Alembic environment for tactful's store.

At runtime ``app.store.migrate`` passes an open connection (already inside
the transaction that holds the start-up lock) in ``config.attributes``.  For
developers writing a new revision, running Alembic by hand works too::

    TACTFUL_DATABASE_URL=sqlite:///./dev.db \
        alembic -c app/store/migrations/alembic.ini revision --autogenerate -m "..."
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy import Connection

from app.store.engine import create_store_engine
from app.store.tables import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite can only ALTER by copying the table; batch mode does that.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_standalone(url: str) -> None:
    engine = create_store_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


def _standalone_url() -> str:
    url = context.config.get_main_option("sqlalchemy.url") or os.environ.get(
        "TACTFUL_DATABASE_URL"
    )
    if not url:
        raise SystemExit("set TACTFUL_DATABASE_URL to the database to migrate")
    return url


if context.is_offline_mode():
    context.configure(url=_standalone_url(), target_metadata=target_metadata,
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    shared = context.config.attributes.get("connection")
    if shared is not None:
        _run(shared)
    else:
        asyncio.run(_run_standalone(_standalone_url()))

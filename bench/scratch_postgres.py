"""A throw-away PostgreSQL database for one load-bench run (``serve_load --postgres``).

The bot is started on an empty database (it migrates it), as a real
deployment would be; afterwards the bench counts what the store holds and
drops the database.  Needs a server that takes the given user, e.g. the
local ``postgresql://postgres@127.0.0.1:5432`` with trust auth.
"""

from __future__ import annotations

import os
import time
from typing import Any
from urllib.parse import urlsplit

import asyncpg


def _connect_args(server_url: str, database: str) -> dict[str, Any]:
    parts = urlsplit(server_url)
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 5432,
        "user": parts.username or "postgres",
        "password": parts.password,
        "database": database,
        "timeout": 10,
    }


def database_url(server_url: str, database: str) -> str:
    """``postgresql://user[:password]@host:port/database`` as the bot's setting."""
    args = _connect_args(server_url, database)
    password = f":{args['password']}" if args["password"] else ""
    return f"postgresql://{args['user']}{password}@{args['host']}:{args['port']}/{database}"


async def create_database(server_url: str) -> str:
    """Create an empty database with a name of its own; returns the name."""
    name = f"tactful_bench_{os.getpid()}_{int(time.time())}"
    admin = await asyncpg.connect(**_connect_args(server_url, "postgres"))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return name


async def drop_database(server_url: str, name: str) -> None:
    admin = await asyncpg.connect(**_connect_args(server_url, "postgres"))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def store_counts(server_url: str, name: str) -> dict[str, Any]:
    """The same counts ``load_report.collect_store`` reads from SQLite."""
    db = await asyncpg.connect(**_connect_args(server_url, name))
    try:
        jobs = await db.fetch("SELECT status, count(*) AS n FROM jobs GROUP BY status")
        drafts = await db.fetch("SELECT status, count(*) AS n FROM drafts GROUP BY status")
        return {
            "complaints": await db.fetchval("SELECT count(*) FROM complaints"),
            "jobs": {row["status"]: row["n"] for row in jobs},
            "jobs_claimed_again": await db.fetchval("SELECT count(*) FROM jobs WHERE attempts > 1"),
            "drafts": {row["status"]: row["n"] for row in drafts},
        }
    finally:
        await db.close()

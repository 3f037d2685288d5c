"""What ``tactful serve`` imports: libraries a running bot does not use stay out of its memory.

The bot's peak RSS is an issue-8 goal (120 MB in the 200-complaint burst),
and every module imported at start is held for the life of the process.
Checked in a fresh interpreter, since this test run has imported everything.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# What `tactful serve` imports before it starts the server (app/cli.py's serve command).
SERVE_IMPORTS = "import app.cli, app.logs, app.slack.server, app.slack.socket_mode, app.store"


@pytest.fixture(scope="module")
def loaded_by_serve() -> frozenset[str]:
    code = f"import sys; {SERVE_IMPORTS}; print('\\n'.join(sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return frozenset(done.stdout.split())


@pytest.mark.parametrize(
    ("module", "why"),
    [
        ("alembic", "migrations run in a short-lived child process"),
        ("sqlalchemy.dialects.postgresql", "a bot on SQLite never builds a PostgreSQL statement"),
        ("dateparser", "imported with the first commitment, not with the bot"),
    ],
)
def test_serve_does_not_import(loaded_by_serve: frozenset[str], module: str, why: str) -> None:
    assert module not in loaded_by_serve, f"{module} is imported at start, yet {why}"

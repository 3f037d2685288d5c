"""The store's public names, and what it must never import."""

from __future__ import annotations

import ast
from pathlib import Path

import app.store

STORE_DIR = Path(app.store.__file__).parent
FORBIDDEN = ("slack_bolt", "slack_sdk", "openai")


def test_the_public_names_are_declared_and_importable() -> None:
    assert sorted(app.store.__all__) == sorted(set(app.store.__all__))
    for name in app.store.__all__:
        assert getattr(app.store, name) is not None
    for method in ("open", "close", "first_delivery", "accept_complaint", "enqueue",
                   "claim_job", "extend_lease", "finish_job", "retry_job_later", "fail_job",
                   "pending_job_count", "start_draft", "set_card", "save_draft_result",
                   "mark_draft_failed", "get_draft", "get_complaint", "latest_draft",
                   "supersede_thread", "claim_for_send", "mark_sent", "release_send",
                   "record_edit", "discard", "record_decision", "stats", "restart_draft",
                   "replace_result", "note_draft_error", "set_offers", "decisions"):
        assert callable(getattr(app.store.Store, method)), method


def test_the_store_imports_nothing_from_slack_or_openai() -> None:
    offenders = []
    for path in STORE_DIR.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []


def test_the_migration_scripts_ship_with_the_package() -> None:
    migrations = STORE_DIR / "migrations"
    assert (migrations / "env.py").is_file() and (migrations / "script.py.mako").is_file()
    assert sorted(p.name for p in (migrations / "versions").glob("*.py")) == ["0001_initial.py"]

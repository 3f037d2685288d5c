"""A database made by the first release upgrades in place: its drafts keep what they mean.

An edited draft shows its edit (the older ``final_text`` is dropped), and a
send in flight knows when it was claimed, to look for its post from then on.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import Connection, text

from app.store import Store, create_store_engine
from app.store.migrate import alembic_config

DRAFT_COLUMNS = (
    "complaint_id, version, status, text, final_text, offers, checklist, flags, follow_up, "
    "prompt_version, model, prompt_tokens, completion_tokens, llm_ms, send_attempts, "
    "decided_at, created_at, updated_at"
)


def _to_first_release_with_drafts(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "0001")
    connection.execute(text(
        "INSERT INTO complaints (team_id, channel_id, message_ts, thread_ts, user_id, user_name, "
        "text, source, created_at) VALUES ('T1', 'C1', '1.1', '1.1', 'U1', 'Dana', 'Late', "
        "'watch', '2025-03-01 09:00:00')"
    ))
    for version, status, final_text in ((1, "superseded", "Old sent-to-be"),
                                        (2, "pending", "Shown before the edit"),
                                        (3, "sending", "In flight")):
        connection.execute(text(
            f"INSERT INTO drafts ({DRAFT_COLUMNS}) VALUES (1, :version, :status, 'Edited', "
            ":final_text, '[]', '{}', '[]', '', 'p', 'm', 0, 0, 0.0, 1, "
            "'2025-03-01 09:05:00', '2025-03-01 09:00:00', '2025-03-01 09:06:00')"
        ), {"version": version, "status": status, "final_text": final_text})


async def _upgrade_then_read(url: str) -> None:
    engine = create_store_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_to_first_release_with_drafts)
    finally:
        await engine.dispose()

    store = await Store.open(url)
    try:
        superseded, pending, sending = [await store.get_draft(draft_id=n) for n in (1, 2, 3)]
    finally:
        await store.close()

    assert superseded is not None and superseded.final_text is None
    assert pending is not None and (pending.text, pending.final_text) == ("Edited", None)
    assert sending is not None and sending.final_text == "In flight"
    assert sending.claimed_at == sending.decided_at and sending.claimed_at is not None
    assert pending.claimed_at is None and pending.override_fingerprint is None


async def test_a_sqlite_file_of_the_first_release_upgrades_in_place(tmp_path: Path) -> None:
    await _upgrade_then_read(f"sqlite:///{tmp_path / 'old.db'}")


async def test_a_postgres_database_of_the_first_release_upgrades_in_place(
    fresh_postgres_url: str,
) -> None:
    await _upgrade_then_read(fresh_postgres_url)

"""Shared test data: the canned complaints in ``tests/fixtures/complaints/``.

Each fixture is a realistic customer message with what triage should find
(``expect``) and the canned model outputs (``llm_triage``, ``llm_draft``) a
fake LLM returns for it.  Tests and ``bench/`` read them through here.
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from app.domain.models import Complaint

COMPLAINTS_DIR = Path(__file__).parent / "fixtures" / "complaints"


@cache
def _read_all() -> tuple[dict[str, Any], ...]:
    fixtures = []
    for path in sorted(COMPLAINTS_DIR.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert data["id"] == path.stem, f"{path.name}: id must match the file name"
        fixtures.append(data)
    return tuple(fixtures)


def load_complaint_fixtures() -> list[dict[str, Any]]:
    """Every complaint fixture, sorted by id; a fresh copy each call, so tests may mutate it."""
    return copy.deepcopy(list(_read_all()))


def load_complaint_fixture(fixture_id: str) -> dict[str, Any]:
    for fixture in _read_all():
        if fixture["id"] == fixture_id:
            return copy.deepcopy(fixture)
    raise KeyError(f"no complaint fixture {fixture_id!r} in {COMPLAINTS_DIR}")


def complaint_from_fixture(fixture: dict[str, Any]) -> Complaint:
    return Complaint(
        text=fixture["text"],
        customer_name=fixture.get("customer_name"),
        channel_context=fixture.get("channel_context"),
    )

"""``tactful report`` over a seeded store: the table, CSV figures and a standalone HTML page."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import xml.etree.ElementTree as ElementTree
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.reporting.cli import parse_since
from app.store import Store
from tests.factories import StoreFactory
from tests.fakes.clocks import SteppingClock
from tests.store.test_report_figures import a_known_day

runner = CliRunner()
SINCE = "2025-03-01T09:00:00+00:00"  # the known day starts here (SteppingClock)


@pytest.fixture
def seeded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'report.db'}"

    async def seed() -> None:
        clock, factory = SteppingClock(), StoreFactory()
        store = await Store.open(url, clock=clock)
        try:
            day = await a_known_day(store, clock, factory)
            hostile = await factory.pending_draft(
                store, complaint=factory.complaint("1700000099.000001"))
            assert await store.discard(draft_id=hostile, user_id="U_BEN",
                                       reason="<script>alert(1)</script> & co")
            assert day.start
        finally:
            await store.close()

    asyncio.run(seed())
    monkeypatch.setenv("TACTFUL_DATABASE_URL", url)
    return url


def figures(text: str) -> dict[tuple[str, str, str], str]:
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["section", "key", "metric", "value"]
    return {(s, k, m): v for s, k, m, v in rows[1:]}


def test_csv_has_every_figure_of_the_known_day(seeded: str) -> None:
    result = runner.invoke(cli, ["report", "--since", SINCE, "--format", "csv"])

    assert result.exit_code == 0, result.output
    got = figures(result.stdout)
    assert got[("overall", "all", "complaints")] == "8"
    assert got[("overall", "all", "replies_sent")] == "4"
    assert got[("overall", "all", "drafts_discarded")] == "4"
    assert got[("overall", "all", "acceptance_rate")] == "0.5000"
    assert got[("overall", "all", "edit_rate")] == "0.5000"
    assert got[("overall", "all", "avg_edit_chars")] == "21.0"
    assert got[("prompt_version", "draft@new", "drafts")] == "1"
    assert got[("category", "billing", "drafts_discarded")] == "2"
    assert got[("discard_reason", "already solved", "drafts_discarded")] == "2"
    assert got[("reply_time", "all", "avg_seconds")] == "1922.5"
    assert got[("reply_time", "< 5 min", "replies")] == "2"
    assert got[("phrase_added", "dana", "drafts")] == "2"
    assert got[("commitments", "open", "count")] == "1"


def test_csv_for_one_channel(seeded: str) -> None:
    result = runner.invoke(cli, ["report", "--since", SINCE, "--channel", "C_OTHER",
                                 "--format", "csv"])

    assert result.exit_code == 0, result.output
    got = figures(result.stdout)
    assert got[("period", "channel", "id")] == "C_OTHER"
    assert got[("overall", "all", "drafts")] == "1"
    assert got[("reply_time", "1–4 h", "replies")] == "1"


def test_html_is_one_standalone_page_with_charts(seeded: str, tmp_path: Path) -> None:
    page = tmp_path / "report.html"

    result = runner.invoke(cli, ["report", "--since", SINCE, "--format", "html", "-o", str(page)])

    assert result.exit_code == 0, result.output
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>")
    # Nothing is fetched: no script, no external stylesheet, font or image.
    assert "<script" not in html and not re.search(r"(src|href)=\"https?://", html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html
    charts = re.findall(r"<svg.*?</svg>", html, flags=re.DOTALL)
    assert len(charts) >= 4
    for chart in charts:
        svg = ElementTree.fromstring(chart)  # well-formed SVG, as a browser parses it
        assert svg.findall("{http://www.w3.org/2000/svg}rect")
    assert "By prompt version" in html and "draft@new" in html
    assert "Discard reasons" in html and "already solved" in html


def test_table_output_names_the_sections(seeded: str) -> None:
    result = runner.invoke(cli, ["report", "--since", SINCE], env={"COLUMNS": "160"})

    assert result.exit_code == 0, result.output
    for title in ("By prompt version", "By category", "Discard reasons", "Recurring problems",
                  "Phrases agents delete", "Commitments"):
        assert title in result.stdout


def test_a_bad_since_says_what_to_write(seeded: str) -> None:
    result = runner.invoke(cli, ["report", "--since", "last tuesday"], env={"COLUMNS": "200"})

    assert result.exit_code == 2
    assert "neither a duration (30d, 12h, 2w) nor a date" in result.output


def test_since_reads_durations_and_dates() -> None:
    now = SteppingClock().now
    assert parse_since("30d", now=now) == now - timedelta(days=30)
    assert parse_since("12h", now=now) == now - timedelta(hours=12)
    assert parse_since("2w", now=now) == now - timedelta(weeks=2)
    assert parse_since("2025-02-01", now=now).isoformat() == "2025-02-01T00:00:00+00:00"

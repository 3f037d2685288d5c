"""``tactful report``: the managers' report from the store, as a table, CSV or HTML."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from app.cli_output import err, read_store, settings_or_fail
from app.reporting.html_page import render_html
from app.reporting.text import render_csv, render_table
from app.store.report import PHRASE_SAMPLE

_RELATIVE = re.compile(r"^(\d+)\s*([dhw])$")


class Format(StrEnum):
    table = "table"
    csv = "csv"
    html = "html"


def parse_since(value: str, *, now: datetime) -> datetime:
    """``30d``, ``12h``, ``2w`` back from now, or an ISO date/time (UTC unless it says)."""
    text = value.strip().lower()
    relative = _RELATIVE.match(text)
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2)
        return now - timedelta(**{{"d": "days", "h": "hours", "w": "weeks"}[unit]: amount})
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is neither a duration (30d, 12h, 2w) nor a date (2026-11-01)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def report(
    since: Annotated[str, typer.Option(
        help="Start of the period: 30d, 12h, 2w back from now, or a date such as 2026-11-01."
    )] = "30d",
    channel: Annotated[Optional[str], typer.Option(  # noqa: UP045 - typer reads Optional
        help="Only complaints from this channel ID."
    )] = None,
    output_format: Annotated[Format, typer.Option(
        "--format", help="table (terminal), csv (one row per figure) or html (standalone page)."
    )] = Format.table,
    output: Annotated[Optional[Path], typer.Option(  # noqa: UP045
        "--output", "-o", help="Write to this file instead of standard output."
    )] = None,
    phrase_sample: Annotated[int, typer.Option(
        help="How many of the latest edited replies the phrase counts read.", min=1, max=5000,
    )] = PHRASE_SAMPLE,
) -> None:
    """What agents accept, edit and discard, by prompt version, playbook and category."""
    settings = settings_or_fail()
    now = datetime.now(UTC)
    start = parse_since(since, now=now)

    figures = read_store(
        settings.database_url,
        lambda store: store.report(
            since=start, until=now, channel=channel, phrase_sample=phrase_sample
        ),
    )
    if output_format is Format.table:
        console = Console(file=output.open("w", encoding="utf-8")) if output else Console()
        render_table(console, figures)
        return
    text = render_csv(figures) if output_format is Format.csv else render_html(figures)
    if output:
        output.write_text(text, encoding="utf-8")
        err.print(f"Wrote {output}")
    else:
        typer.echo(text, nl=False)

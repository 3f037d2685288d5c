"""The report in a terminal (rich tables) and as CSV (one row per figure)."""

from __future__ import annotations

import csv
import io

from rich.console import Console
from rich.table import Table

from app.reporting.figures import duration, number, percent, report_rows
from app.store.report import GroupFigures, Report


def render_csv(report: Report) -> str:
    """``section,key,metric,value``: long format, so any tool can pivot it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(("section", "key", "metric", "value"))
    writer.writerows(report_rows(report))
    return buffer.getvalue()


def _groups_table(title: str, groups: list[GroupFigures]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("", "drafts", "sent", "discarded", "accepted", "edited", "avg chars changed",
                   "avg change"):
        table.add_column(column, justify="left" if not column else "right")
    for g in groups:
        table.add_row(g.key, str(g.drafts), str(g.sent), str(g.discarded),
                      percent(g.acceptance_rate), percent(g.edit_rate),
                      number(g.avg_edit_chars) or "–", percent(g.avg_edit_ratio))
    return table


def _pairs_table(title: str, header: tuple[str, str], rows: list[tuple[str, int]]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column(header[0])
    table.add_column(header[1], justify="right")
    for key, n in rows:
        table.add_row(key, str(n))
    if not rows:
        table.add_row("none yet", "")
    return table


def render_table(console: Console, report: Report) -> None:
    where = f"channel {report.channel}" if report.channel else "all channels"
    console.print(
        f"[bold]tactful report[/bold] · {report.since:%Y-%m-%d %H:%M} → "
        f"{report.until:%Y-%m-%d %H:%M} UTC · {where} · {report.complaints} complaints"
    )
    console.print(_groups_table("Overall", [report.overall]))
    console.print(_groups_table("By prompt version", report.by_prompt_version))
    if report.by_playbook:
        console.print(_groups_table("By playbook", report.by_playbook))
    console.print(_groups_table("By category", report.by_category))
    console.print(_pairs_table("Discard reasons", ("reason", "drafts"), report.discard_reasons))
    console.print(
        f"[bold]Time from complaint to sent reply[/bold]: {report.replies} replies, "
        f"average {duration(report.avg_seconds_to_reply)}"
    )
    console.print(_pairs_table("", ("time to reply", "replies"), report.reply_buckets))
    recurring = Table(title="Recurring problems (vs the period before)", title_justify="left")
    for column in ("category", "complaints", "before", "trend"):
        recurring.add_column(column, justify="left" if column == "category" else "right")
    for item in report.recurring:
        trend = f"{item.trend:+.0%}" if item.trend is not None else "new"
        recurring.add_row(item.category, str(item.complaints), str(item.previous), trend)
    console.print(recurring)
    sample = f"(from the latest {report.phrase_sample} edited replies)"
    console.print(_pairs_table(f"Phrases agents delete {sample}", ("phrase", "drafts"),
                               report.phrases_deleted))
    console.print(_pairs_table(f"Phrases agents add {sample}", ("phrase", "drafts"),
                               report.phrases_added))
    if report.commitments:
        console.print(_pairs_table("Commitments", ("state", "count"),
                                   sorted(report.commitments.items())))

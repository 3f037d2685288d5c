"""How a draft looks in a terminal: the reply, offers, checklist and flags."""

from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from app.domain.evaluation import EvalReport
from app.domain.models import STEP_LABELS, DraftResult
from app.store import Stats

_SEVERITY_STYLE = {"block": "bold red", "warning": "yellow", "info": "cyan"}


def print_draft(console: Console, result: DraftResult) -> None:
    t = result.triage
    console.print(
        Text.assemble(
            ("Triage  ", "bold"),
            f"{t.kind} · {t.category} · urgency {t.urgency} · {t.sentiment} · {t.language}",
        )
    )
    if t.summary:
        console.print(Text(f"        {t.summary}", style="dim"))
    console.print(Panel(Text(result.text), title="Draft reply", title_align="left"))

    offers = Table(title="Offers", title_justify="left", show_lines=False, expand=True)
    offers.add_column("#", width=2)
    offers.add_column("Offer")
    offers.add_column("Why it helps")
    for number, offer in enumerate(result.offers, 1):
        offers.add_row(str(number), offer.describe(), offer.why_it_helps)
    if not result.offers:
        offers.add_row("-", "No offer within the catalog and authority", "")
    console.print(offers)

    checklist = Text()
    for step, label in STEP_LABELS.items():
        covered = result.checklist.get(step, False)
        checklist.append("✓ " if covered else "✗ ", style="green" if covered else "red")
        checklist.append(f"{label}\n")
    flags = Text()
    for flag in result.flags:
        flags.append(f"! {flag.code}: ", style=_SEVERITY_STYLE[flag.severity])
        flags.append(f"{flag.message}\n")
    if not result.flags:
        flags.append("none", style="green")
    console.print(
        Panel(
            Group(checklist, Text("Flags", style="bold"), flags),
            title="Checklist",
            title_align="left",
        )
    )
    if result.follow_up:
        console.print(Text.assemble(("Follow-up  ", "bold"), result.follow_up))
    console.print(
        Text(
            f"prompt {result.prompt_version} · {result.model} · "
            f"{result.usage.prompt_tokens}+{result.usage.completion_tokens} tokens · "
            f"{result.llm_ms:.0f} ms in the LLM",
            style="dim",
        )
    )


def print_stats(console: Console, stats: Stats) -> None:
    def rate(value: float | None) -> str:
        return f"{value:.0%}" if value is not None else "–"

    def minutes(seconds: float | None) -> str:
        return f"{seconds / 60:.1f} min" if seconds is not None else "–"

    summary = Table(show_header=False, box=None)
    for label, value in (
        ("Complaints", str(stats.complaints)),
        ("Drafts", str(stats.drafts_total)),
        ("Sent / discarded / waiting", f"{stats.sent} / {stats.discarded} / {stats.pending}"),
        ("Acceptance rate", rate(stats.acceptance_rate)),
        ("Edited before sending", rate(stats.edit_rate)),
        ("Median time to decision", minutes(stats.median_seconds_to_decision)),
        ("Median time to reply", minutes(stats.median_seconds_to_reply)),
        ("Tokens", f"{stats.prompt_tokens} + {stats.completion_tokens}"),
        ("Incidents (complaints, declared)",
         f"{stats.incidents} ({stats.incident_complaints}, {stats.declared_incidents})"),
    ):
        summary.add_row(Text(label, style="bold"), value)
    console.print(summary)
    categories = Table(title="Categories", title_justify="left")
    categories.add_column("Category")
    categories.add_column("Complaints", justify="right")
    categories.add_column("Replied", justify="right")
    for row in stats.by_category:
        categories.add_row(row.category, str(row.complaints), str(row.sent))
    console.print(categories)
    if len(stats.by_channel_kind) > 1 or any(k.kind != "customer" for k in stats.by_channel_kind):
        kinds = Table(title="Channel kinds", title_justify="left")
        kinds.add_column("Kind")
        kinds.add_column("Complaints", justify="right")
        kinds.add_column("Replied", justify="right")
        for kind in stats.by_channel_kind:
            kinds.add_row(kind.kind, str(kind.complaints), str(kind.sent))
        console.print(kinds)
    if stats.top_recurring_categories:
        console.print(
            Text.assemble(("Recurring  ", "bold"), ", ".join(stats.top_recurring_categories))
        )


def print_eval(console: Console, report: EvalReport) -> None:
    table = Table(
        title=f"Replayed with prompt version {report.prompt_version}", title_justify="left"
    )
    for column in ("Complaint", "Agent did", "Steps", "Warnings", "Offers", "New draft"):
        table.add_column(column)
    for result in report.results:
        if result.candidate is None:
            table.add_row(
                result.case.label, result.case.baseline.outcome, "", "", "", f"[red]{result.error}"
            )
            continue
        (steps_before, steps_after), (warn_before, warn_after) = result.steps, result.warnings
        table.add_row(
            result.case.label,
            result.case.baseline.outcome,
            f"{steps_before} → {steps_after}",
            f"{warn_before} → {warn_after}",
            "changed" if result.offers_changed else "same",
            result.candidate.text[:120] + ("…" if len(result.candidate.text) > 120 else ""),
        )
    console.print(table)
    s = report.summary()
    console.print(
        f"{s['cases']} complaints, {s['errors']} failed · steps covered {s['steps_before']:.1f} → "
        f"{s['steps_after']:.1f} · warnings {s['warnings_before']:.1f} → {s['warnings_after']:.1f} "
        f"per draft · offers changed in {s['offers_changed']}",
        highlight=False,
    )

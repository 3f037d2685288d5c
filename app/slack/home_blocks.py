"""The managers' part of App Home: the last 30 days of ``tactful report``, in a few sections.

Shown under the agents' figures to managers (``TACTFUL_MANAGERS``; every
agent when it is unset).  The full report with charts is ``tactful report
--format html``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from app.reporting.figures import duration, percent
from app.slack.blocks import section
from app.slack.text import safe
from app.store.report import GroupFigures, Report

REPORT_DAYS = 30
LINES = 8  # per section: App Home is a summary, the CLI has the rest
HOME_BLOCK_LIMIT = 100


def report_period() -> timedelta:
    return timedelta(days=REPORT_DAYS)


def _group_lines(groups: list[GroupFigures]) -> str:
    return "\n".join(
        f"• `{safe(g.key)}`: {g.drafts} drafts, {percent(g.acceptance_rate)} accepted, "
        f"{percent(g.edit_rate)} edited, {percent(g.avg_edit_ratio)} changed on average"
        for g in groups[:LINES]
    ) or "none yet"


def _pairs(rows: list[tuple[str, int]]) -> str:
    return ", ".join(f"{safe(key)} ({n})" for key, n in rows[:LINES]) or "none yet"


def report_blocks(report: Report) -> list[dict[str, Any]]:
    recurring = "\n".join(
        f"• {safe(r.category)}: {r.complaints} complaints"
        + (f" ({r.trend:+.0%} on the {REPORT_DAYS} days before)" if r.trend is not None else " (new)")
        for r in report.recurring[:LINES]
    ) or "none yet"
    return [
        {"type": "divider"},
        {"type": "header", "text": {"type": "plain_text",
                                    "text": f"Manager report · last {REPORT_DAYS} days"}},
        section("*By prompt version*\n" + _group_lines(report.by_prompt_version)),
        *([section("*By playbook*\n" + _group_lines(report.by_playbook))]
          if report.by_playbook else []),
        section("*By category*\n" + _group_lines(report.by_category)),
        section("*Discard reasons* " + _pairs(report.discard_reasons)),
        section(f"*Time from complaint to sent reply* average "
                f"{duration(report.avg_seconds_to_reply)} over {report.replies} replies"),
        section("*Recurring problems*\n" + recurring),
        section(f"*Phrases agents delete* {_pairs(report.phrases_deleted)}\n"
                f"*Phrases agents add* {_pairs(report.phrases_added)}"),
        {"type": "context", "elements": [{"type": "mrkdwn", "text": (
            "The full report with charts: `tactful report --format html -o report.html`."
        )}]},
    ]


def with_report(view: dict[str, Any], report: Report) -> dict[str, Any]:
    """The agents' home view with the managers' report added at the end."""
    view_blocks = [*view["blocks"], *report_blocks(report)][:HOME_BLOCK_LIMIT]
    return {**view, "blocks": view_blocks}

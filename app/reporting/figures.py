"""One flat list of every figure in a report: the CSV rows, and what the table groups."""

from __future__ import annotations

from app.store.report import GroupFigures, Report

Row = tuple[str, str, str, str]


def percent(value: float | None) -> str:
    return f"{value:.0%}" if value is not None else "–"


def number(value: float | None, digits: int = 1) -> str:
    return f"{value:.{digits}f}" if value is not None else ""


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def group_rows(section: str, group: GroupFigures) -> list[Row]:
    """A group's figures; rates as fractions (0.5), so a spreadsheet can chart them."""
    figures = {
        "drafts": str(group.drafts),
        "replies_sent": str(group.sent),
        "drafts_discarded": str(group.discarded),
        "acceptance_rate": number(group.acceptance_rate, 4),
        "edited": str(group.edited),
        "edit_rate": number(group.edit_rate, 4),
        "avg_edit_chars": number(group.avg_edit_chars),
        "avg_edit_ratio": number(group.avg_edit_ratio, 4),
    }
    return [(section, group.key, metric, value) for metric, value in figures.items()]


def report_rows(report: Report) -> list[Row]:
    """(section, key, metric, value) for every figure, in the order the report shows them."""
    rows: list[Row] = [
        ("period", "since", "timestamp", report.since.isoformat()),
        ("period", "until", "timestamp", report.until.isoformat()),
        ("period", "channel", "id", report.channel or "all"),
        ("overall", "all", "complaints", str(report.complaints)),
    ]
    rows += group_rows("overall", report.overall)
    for section, groups in (("prompt_version", report.by_prompt_version),
                            ("playbook", report.by_playbook), ("category", report.by_category)):
        for group in groups:
            rows += group_rows(section, group)
    rows += [("discard_reason", reason, "drafts_discarded", str(n)) for reason, n in report.discard_reasons]
    rows += [
        ("reply_time", "all", "replies", str(report.replies)),
        ("reply_time", "all", "avg_seconds", number(report.avg_seconds_to_reply)),
    ]
    rows += [("reply_time", label, "replies", str(n)) for label, n in report.reply_buckets]
    for item in report.recurring:
        rows += [
            ("recurring", item.category, "complaints", str(item.complaints)),
            ("recurring", item.category, "previous_period", str(item.previous)),
            ("recurring", item.category, "trend", number(item.trend, 4)),
        ]
    rows += [("phrase_deleted", p, "drafts", str(n)) for p, n in report.phrases_deleted]
    rows += [("phrase_added", p, "drafts", str(n)) for p, n in report.phrases_added]
    rows.append(("phrases", "sample", "edited_drafts", str(report.phrase_sample)))
    rows += [("commitments", state, "count", str(n)) for state, n in sorted(report.commitments.items())]
    return rows

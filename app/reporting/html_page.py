"""The report as one standalone HTML page: tables and inline SVG bar charts, nothing fetched.

No script, no stylesheet or font from a CDN: the file opens offline, can be
mailed, and shows the same everywhere.  Every text from the store (prompt
versions, categories, discard reasons, phrases) is HTML-escaped.
"""

from __future__ import annotations

from html import escape

from app.reporting.figures import duration, number, percent
from app.store.report import GroupFigures, Report

BAR_COLORS = ("#3b6fb6", "#e08a2e")
ROW_H = 22
LABEL_W = 190
BAR_W = 360

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:960px;color:#1d1c1d;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0}td,th{padding:.25rem .6rem;border-bottom:1px solid #eee}
th{text-align:left;background:#f6f6f6}td.n{text-align:right;font-variant-numeric:tabular-nums}
.note{color:#616061;font-size:.9rem}svg text{font-size:12px;fill:#1d1c1d}
.legend span{display:inline-block;width:.8rem;height:.8rem;margin:0 .3rem 0 1rem}
"""


def bar_chart(title: str, rows: list[tuple[str, list[float]]], *, series: tuple[str, ...],
              as_percent: bool = False) -> str:
    """Horizontal bars, one group per row and one bar per series, scaled to the largest value."""
    if not rows:
        return ""
    top = max((v for _, values in rows for v in values), default=0.0) or 1.0
    per_row = ROW_H * len(series) + 8
    height = per_row * len(rows) + 4
    parts = [
        f'<svg role="img" aria-label="{escape(title)}" width="{LABEL_W + BAR_W + 70}" '
        f'height="{height}" viewBox="0 0 {LABEL_W + BAR_W + 70} {height}" '
        'xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (label, values) in enumerate(rows):
        y = i * per_row + 4
        parts.append(f'<text x="0" y="{y + ROW_H - 7}">{escape(label[:30])}</text>')
        for j, value in enumerate(values):
            width = BAR_W * value / top
            shown = percent(value) if as_percent else f"{value:g}"
            by = y + j * ROW_H
            parts.append(
                f'<rect class="bar" x="{LABEL_W}" y="{by}" width="{width:.1f}" '
                f'height="{ROW_H - 4}" fill="{BAR_COLORS[j % len(BAR_COLORS)]}">'
                f"<title>{escape(label)} · {escape(series[j])}: {shown}</title></rect>"
            )
            parts.append(f'<text x="{LABEL_W + width + 4:.1f}" y="{by + ROW_H - 8}">{shown}</text>')
    parts.append("</svg>")
    legend = "".join(
        f'<span style="background:{BAR_COLORS[j % len(BAR_COLORS)]}"></span>{escape(name)}'
        for j, name in enumerate(series)
    ) if len(series) > 1 else ""
    return f'<figure><figcaption>{escape(title)}</figcaption>{"".join(parts)}' + (
        f'<div class="legend">{legend}</div>' if legend else "") + "</figure>"


def _table(headers: list[str], rows: list[list[str]], numeric_from: int = 1) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(
            f'<td class="n">{escape(c)}</td>' if i >= numeric_from else f"<td>{escape(c)}</td>"
            for i, c in enumerate(row)
        ) + "</tr>"
        for row in rows
    ) or f'<tr><td colspan="{len(headers)}">none yet</td></tr>'
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _groups(title: str, groups: list[GroupFigures]) -> str:
    if not groups:
        return ""
    table = _table(
        ["", "drafts", "sent", "discarded", "accepted", "edited", "avg chars changed", "avg change"],
        [[g.key, str(g.drafts), str(g.sent), str(g.discarded), percent(g.acceptance_rate),
          percent(g.edit_rate), number(g.avg_edit_chars) or "–", percent(g.avg_edit_ratio)]
         for g in groups],
    )
    chart = bar_chart(
        f"{title}: acceptance and edit rate",
        [(g.key, [g.acceptance_rate or 0.0, g.edit_rate or 0.0]) for g in groups],
        series=("accepted", "edited before sending"), as_percent=True,
    )
    return f"<h2>{escape(title)}</h2>{table}{chart}"


def render_html(report: Report) -> str:
    where = f"channel {report.channel}" if report.channel else "all channels"
    overall = report.overall
    sections = [
        f"<h1>tactful report</h1><p class=\"note\">{report.since:%Y-%m-%d %H:%M} → "
        f"{report.until:%Y-%m-%d %H:%M} UTC · {escape(where)}</p>",
        _table(["complaints", "drafts", "sent", "accepted", "edited before sending",
                "average time to reply"],
               [[str(report.complaints), str(overall.drafts), str(overall.sent),
                 percent(overall.acceptance_rate), percent(overall.edit_rate),
                 duration(report.avg_seconds_to_reply)]], numeric_from=0),
        _groups("By prompt version", report.by_prompt_version),
        _groups("By playbook", report.by_playbook),
        _groups("By category", report.by_category),
        "<h2>Discard reasons</h2>"
        + _table(["reason", "drafts"], [[r, str(n)] for r, n in report.discard_reasons])
        + bar_chart("Discard reasons", [(r, [float(n)]) for r, n in report.discard_reasons],
                    series=("drafts",)),
        f"<h2>Time from complaint to sent reply</h2><p>{report.replies} replies, average "
        f"{duration(report.avg_seconds_to_reply)}.</p>"
        + bar_chart("Replies by time to reply",
                    [(label, [float(n)]) for label, n in report.reply_buckets], series=("replies",)),
        "<h2>Recurring problems</h2><p class=\"note\">Complaints per category in this period "
        "and in the period of equal length before it.</p>"
        + _table(["category", "complaints", "before", "trend"],
                 [[r.category, str(r.complaints), str(r.previous),
                   f"{r.trend:+.0%}" if r.trend is not None else "new"] for r in report.recurring])
        + bar_chart("Complaints per category", [(r.category, [float(r.complaints), float(r.previous)])
                                                for r in report.recurring],
                    series=("this period", "period before")),
        f"<h2>What agents change</h2><p class=\"note\">Word phrases (1–3 words) deleted from or "
        f"added to the model's drafts, counted once per reply, over the latest "
        f"{report.phrase_sample} edited replies.</p>"
        + _table(["deleted phrase", "replies"], [[p, str(n)] for p, n in report.phrases_deleted])
        + _table(["added phrase", "replies"], [[p, str(n)] for p, n in report.phrases_added]),
    ]
    if report.commitments:
        sections.append("<h2>Commitments</h2>" + _table(
            ["state", "count"], [[s, str(n)] for s, n in sorted(report.commitments.items())]))
    return (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
        f"<title>tactful report</title><style>{STYLE}</style></head><body>"
        + "".join(sections) + "</body></html>\n"
    )

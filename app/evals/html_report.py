"""The eval report as one standalone HTML file: tables, an inline SVG chart, the diffs.

Everything is inside the file (CSS in a ``<style>``, the chart drawn here as
SVG), with no script and nothing fetched, so it opens offline, as a CI
artifact or an email attachment.  Every text from a case or a draft is
escaped: a customer message with markup in it shows as text.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from app.evals.compare import Comparison
from app.evals.rubric import CRITERIA, RubricScores, averages
from app.evals.runner import SuiteRun
from app.evals.terminal import percent

_COLOURS = ("#9aa5b1", "#2f6fde")  # old set grey, new set blue
_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:70rem;color:#1f2933;padding:0 1rem}
table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #cbd2d9;padding:.3rem .6rem;
text-align:left;vertical-align:top}th{background:#f0f4f8}.pass{color:#18794e}.fail{color:#c62828}
pre{background:#f8fafc;border:1px solid #e4e7eb;padding:.6rem;white-space:pre-wrap}
.add{color:#18794e}.del{color:#c62828}.gate{font-weight:bold;padding:.6rem;border-radius:4px}
.gate.fail{background:#fdecea}.gate.pass{background:#e6f4ea}svg text{font-size:12px}
"""


def render_html(
    suites: Sequence[SuiteRun],
    comparison: Comparison | None = None,
    rubric: Sequence[RubricScores] = (),
) -> str:
    title = "tactful eval"
    if comparison is not None:
        title += f": {comparison.old.label} vs {comparison.new.label}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
    ]
    if comparison is not None:
        parts.append(_gate(comparison))
    parts += ["<h2>Pass rate per expectation</h2>", chart_svg(suites), _rates_table(suites)]
    parts += ["<h2>Tokens and latency</h2>", _costs_table(suites)]
    if comparison is not None:
        parts.append(_diffs(comparison))
    for suite in suites:
        parts.append(_cases_table(suite))
    if rubric:
        parts.append(_rubric_table(rubric))
    parts.append("</body></html>")
    return "\n".join(parts)


def chart_svg(suites: Sequence[SuiteRun]) -> str:
    """A grouped bar chart: one group per expectation, one bar per prompt set, 0-100%."""
    rates = [suite.pass_rates() for suite in suites]
    names = list(dict.fromkeys(name for r in rates for name in r))
    bar, gap, left, top, height = 18, 22, 48, 30, 200
    group = bar * len(suites) + gap
    width = left + max(1, len(names)) * group + 20
    total_h = top + height + 110
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{total_h}" '
        f'viewBox="0 0 {width} {total_h}" aria-label="Pass rate per expectation">'
    ]
    for tick in (0, 25, 50, 75, 100):
        y = top + height - height * tick / 100
        out.append(
            f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e4e7eb"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{tick}%</text>'
        )
    for index, name in enumerate(names):
        x0 = left + index * group + gap / 2
        for position, (suite, rate) in enumerate(zip(suites, rates, strict=True)):
            passed, total = rate.get(name, (0, 0))
            share = passed / total if total else 0.0
            h = height * share
            x = x0 + position * bar
            colour = _COLOURS[-1] if position == len(suites) - 1 else _COLOURS[0]
            out.append(
                f'<rect class="bar" x="{x:.1f}" y="{top + height - h:.1f}" width="{bar - 2}" '
                f'height="{h:.1f}" fill="{colour}"><title>{escape(suite.label)} {escape(name)}: '
                f"{percent(passed, total)}</title></rect>"
            )
        cx = x0 + bar * len(suites) / 2
        out.append(
            f'<text x="{cx:.1f}" y="{top + height + 14}" text-anchor="end" '
            f'transform="rotate(-35 {cx:.1f} {top + height + 14})">{escape(name)}</text>'
        )
    for position, suite in enumerate(suites):
        colour = _COLOURS[-1] if position == len(suites) - 1 else _COLOURS[0]
        x = left + position * 160
        out.append(
            f'<rect x="{x}" y="6" width="12" height="12" fill="{colour}"/>'
            f'<text x="{x + 16}" y="16">{escape(suite.label)}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def _gate(comparison: Comparison) -> str:
    regressions = comparison.regressions()
    if not regressions:
        return '<p class="gate pass">No expectation that passed before fails now.</p>'
    items = "".join(
        f"<li>{escape(c.case_id)}: {escape(c.check)} ({escape(c.detail)})</li>" for c in regressions
    )
    return (
        f'<div class="gate fail">{len(regressions)} expectation(s) pass with '
        f"{escape(comparison.old.label)} and fail with {escape(comparison.new.label)}:"
        f"<ul>{items}</ul></div>"
    )


def _rates_table(suites: Sequence[SuiteRun]) -> str:
    rates = [suite.pass_rates() for suite in suites]
    names = list(dict.fromkeys(name for r in rates for name in r))
    head = "".join(f"<th>{escape(s.label)}</th>" for s in suites)
    rows = "".join(
        f"<tr><td>{escape(n)}</td>"
        + "".join(f"<td>{percent(*r[n]) if n in r else '-'}</td>" for r in rates)
        + "</tr>"
        for n in names
    )
    return f"<table><tr><th>expectation</th>{head}</tr>{rows}</table>"


def _costs_table(suites: Sequence[SuiteRun]) -> str:
    rows = []
    for suite in suites:
        median, worst = suite.latency_ms()
        rows.append(
            f"<tr><td>{escape(suite.label)}</td><td>{escape(suite.version)}</td>"
            f"<td>{percent(suite.cases_passed, len(suite.runs))}</td><td>{suite.tokens:,}</td>"
            f"<td>{median:.0f}</td><td>{worst:.0f}</td><td>{suite.errors}</td></tr>"
        )
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "prompt set",
            "version",
            "cases passing",
            "tokens",
            "median ms",
            "worst ms",
            "errors",
        )
    )
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _diffs(comparison: Comparison) -> str:
    diffs = comparison.diffs()
    if not diffs:
        return "<h2>Changed drafts</h2><p>No draft changed.</p>"
    blocks = []
    for diff in diffs:
        lines = []
        for line in diff.diff:
            kind = "add" if line.startswith("+") else "del" if line.startswith("-") else ""
            lines.append(f'<span class="{kind}">{escape(line)}</span>' if kind else escape(line))
        blocks.append(f"<h3>{escape(diff.case_id)}</h3><pre>{chr(10).join(lines)}</pre>")
    return f"<h2>Changed drafts ({len(diffs)})</h2>" + "".join(blocks)


def _cases_table(suite: SuiteRun) -> str:
    rows = []
    for run in suite.runs:
        if run.error is not None:
            verdict, detail = '<span class="fail">error</span>', escape(run.error)
        else:
            verdict = (
                '<span class="pass">pass</span>' if run.passed else '<span class="fail">fail</span>'
            )
            detail = "; ".join(escape(f"{c.name}: {c.detail}") for c in run.checks if not c.passed)
        rows.append(
            f"<tr><td>{escape(run.case.id)}</td><td>{verdict}</td><td>{detail}</td>"
            f"<td>{run.tokens}</td></tr>"
        )
    return (
        f"<h2>Cases with {escape(suite.label)}</h2><table><tr><th>case</th><th>result</th>"
        f"<th>what failed</th><th>tokens</th></tr>{''.join(rows)}</table>"
    )


def _rubric_table(scores: Sequence[RubricScores]) -> str:
    labels = list(dict.fromkeys(s.label for s in scores))
    head = "".join(f"<th>{c.replace('_', ' ')}</th>" for c in CRITERIA)
    rows = []
    for label in labels:
        mean = averages([s for s in scores if s.label == label])
        cells = "".join(f"<td>{mean[c]:.1f}</td>" if c in mean else "<td>-</td>" for c in CRITERIA)
        rows.append(f"<tr><td>{escape(label)}</td>{cells}</tr>")
    return (
        "<h2>Rubric (judged by the model; advice only, not part of the gate)</h2>"
        f"<table><tr><th>prompt set</th>{head}</tr>{''.join(rows)}</table>"
    )

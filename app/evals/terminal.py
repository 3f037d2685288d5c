"""How an eval run and a compare read in the terminal (rich tables)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from app.evals.compare import Comparison
from app.evals.rubric import RubricScores
from app.evals.runner import SuiteRun


def percent(passed: int, total: int) -> str:
    return f"{100 * passed / total:.0f}% ({passed}/{total})" if total else "-"


def print_run(console: Console, suite: SuiteRun) -> None:
    table = Table(
        title=f"Eval with prompt set {suite.label} ({suite.version})", title_justify="left"
    )
    table.add_column("case")
    table.add_column("result")
    table.add_column("what failed", overflow="fold")
    table.add_column("tokens", justify="right")
    table.add_column("model ms", justify="right")
    for run in suite.runs:
        if run.error is not None:
            verdict, failed = "[red]error[/]", escape(run.error)
        else:
            verdict = "[green]pass[/]" if run.passed else "[red]fail[/]"
            failed = "; ".join(escape(f"{c.name}: {c.detail}") for c in run.checks if not c.passed)
        ms = f"{run.result.llm_ms:.0f}" if run.result is not None else "-"
        table.add_row(escape(run.case.id), verdict, failed, str(run.tokens), ms)
    console.print(table)
    print_rates(console, [suite])
    console.print(
        f"{suite.cases_passed}/{len(suite.runs)} cases pass every expectation; "
        f"{suite.errors} errors; {suite.tokens:,} tokens.",
        highlight=False,
    )


def print_rates(console: Console, suites: list[SuiteRun]) -> None:
    table = Table(title="Pass rate per expectation", title_justify="left")
    table.add_column("expectation")
    for suite in suites:
        table.add_column(escape(suite.label), justify="right")
    rates = [suite.pass_rates() for suite in suites]
    names = [name for name in rates[-1] if all(name in r for r in rates)] or list(rates[-1])
    for name in names:
        table.add_row(name, *(percent(*r[name]) if name in r else "-" for r in rates))
    console.print(table)


def print_comparison(console: Console, comparison: Comparison) -> None:
    old, new = comparison.old, comparison.new
    print_rates(console, [old, new])
    costs = Table(title="Tokens and latency", title_justify="left")
    for column in ("prompt set", "version", "cases passing", "tokens", "median ms", "worst ms"):
        costs.add_column(column, justify="left" if column in ("prompt set", "version") else "right")
    for suite in (old, new):
        median, worst = suite.latency_ms()
        costs.add_row(
            escape(suite.label),
            suite.version,
            percent(suite.cases_passed, len(suite.runs)),
            f"{suite.tokens:,}",
            f"{median:.0f}",
            f"{worst:.0f}",
        )
    console.print(costs)
    for diff in comparison.diffs():
        console.print(f"[bold]draft changed: {escape(diff.case_id)}[/]")
        for line in diff.diff:
            style = "green" if line.startswith("+") else "red" if line.startswith("-") else "dim"
            console.print(f"[{style}]{escape(line)}[/]", soft_wrap=True, highlight=False)
    for fix in comparison.fixes():
        console.print(f"[green]fixed[/] {escape(fix.case_id)}: {fix.check}", highlight=False)
    regressions = comparison.regressions()
    for change in regressions:
        console.print(
            f"[red]regressed[/] {escape(change.case_id)}: {change.check} ({escape(change.detail)})",
            highlight=False,
        )
    if regressions:
        console.print(
            f"[bold red]{len(regressions)} expectation(s) pass with {escape(old.label)} "
            f"and fail with {escape(new.label)}.[/]"
        )
    else:
        console.print(f"[bold green]No expectation {escape(old.label)} passed fails now.[/]")


def print_rubric(console: Console, scores: list[RubricScores]) -> None:
    table = Table(
        title="Rubric, judged by the model (advice only: not part of the gate)",
        title_justify="left",
    )
    table.add_column("prompt set")
    table.add_column("case")
    for criterion in ("empathy", "clarity", "no_blame", "realistic_promises"):
        table.add_column(criterion.replace("_", " "), justify="right")
    table.add_column("note", overflow="fold")
    for row in scores:
        if row.error is not None:
            table.add_row(
                escape(row.label), escape(row.case_id), "-", "-", "-", "-", escape(row.error)
            )
            continue
        assert row.judgement is not None
        j = row.judgement
        table.add_row(
            escape(row.label),
            escape(row.case_id),
            str(j.empathy),
            str(j.clarity),
            str(j.no_blame),
            str(j.realistic_promises),
            escape(j.comment),
        )
    console.print(table)

"""`tactful eval`: run eval suites, compare two prompt sets and gate, import cases, replay.

``tactful eval evals/`` runs the case files (``run`` is the default command,
so it needs no name); ``tactful eval import`` writes cases from the store;
``tactful eval stored`` replays stored complaints against a prompt change, as
``tactful eval`` did before suites existed.  Exit codes: 0 all good, 1 an
expectation failed or a case could not be drafted (with ``--compare``: only
one the old prompt set passed counts), 2 the cases, prompts or settings are
wrong.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from typer.core import TyperGroup

from app.cli_output import err, fail, out, read_store, settings_or_fail
from app.playbook import PromptSetError
from app.settings import Settings


class _RunByDefault(TyperGroup):
    """``tactful eval evals/`` means ``tactful eval run evals/``: a suite run needs no name."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h")):
            args = ["run", *args]
        return super().parse_args(ctx, args)


eval_cli = typer.Typer(
    cls=_RunByDefault,
    help="Eval suites: draft every case with the real pipeline, score it, compare prompt sets.",
    add_completion=False,
)



def _settings(prompts: Path | None = None, *, needs_key: bool = True) -> Settings:
    settings = settings_or_fail(*(["OPENAI_API_KEY"] if needs_key else []))
    if prompts is not None:
        settings = settings.model_copy(update={"prompts_dir": prompts})
    return settings


@eval_cli.command("run")
def run(
    target: Annotated[
        Path, typer.Argument(help="A case file, or a directory of them (recursively).")
    ] = Path("evals"),
    prompts: Annotated[
        Optional[Path],  # noqa: UP045 (typer)
        typer.Option(help="The prompt set to try (default TACTFUL_PROMPTS_DIR)."),
    ] = None,
    compare: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="The old prompt set: a git ref (branch, tag, commit) or a directory."),
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Cases drafted at once.")] = 8,
    html: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(help="Also write the report as one standalone HTML file."),
    ] = None,
    rubric: Annotated[
        bool, typer.Option("--rubric", help="Also have the model grade each draft (not gated).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
) -> None:
    """Draft every case with the real pipeline and score each expectation."""
    from app.evals.cases import load_cases
    from app.evals.compare import Comparison
    from app.evals.html_report import render_html
    from app.evals.prompt_sets import PromptSet, resolve_ref
    from app.evals.terminal import print_comparison, print_rubric, print_run

    settings = _settings(prompts)
    try:
        cases = load_cases(target)
    except PromptSetError as exc:
        raise fail(f"the case files have errors:\n{exc}") from None
    with ExitStack() as stack:
        try:
            sets = []
            if compare is not None:
                sets.append(PromptSet(compare, resolve_ref(compare, settings.prompts_dir, stack)))
            sets.append(
                PromptSet("new" if compare else str(settings.prompts_dir), settings.prompts_dir)
            )
            for prompt_set in sets:
                prompt_set.check(cases)
        except ValueError as exc:
            raise fail(str(exc)) from None
        except PromptSetError as exc:
            raise fail(f"the prompt files or case playbooks have errors:\n{exc}") from None
        started = time.perf_counter()
        suites, grades = asyncio.run(_run_all(settings, sets, cases, concurrency, rubric))
        seconds = time.perf_counter() - started
    comparison = Comparison(suites[0], suites[1]) if compare else None
    if html is not None:
        html.write_text(render_html(suites, comparison, grades), encoding="utf-8")
    if as_json:
        data = {"seconds": round(seconds, 3), **_as_json(suites, comparison, grades)}
        out.print_json(json.dumps(data, ensure_ascii=False))
    elif comparison is not None:
        print_comparison(out, comparison)
    else:
        print_run(out, suites[0])
    if grades and not as_json:
        print_rubric(out, grades)
    if not as_json:
        where = f"; report written to {html}" if html is not None else ""
        out.print(f"Drafted in {seconds:.1f} s{where}.", highlight=False)
    failed = comparison.regressions() if comparison else [r for r in suites[0].runs if not r.passed]
    if failed:
        raise typer.Exit(1)


async def _run_all(
    settings: Settings, sets: list[Any], cases: list[Any], concurrency: int, rubric: bool
) -> tuple[list[Any], list[Any]]:
    from app.evals.rubric import judge_suite
    from app.evals.runner import run_suites
    from app.llm import LLMClient
    from app.runtime import llm_config

    # The bot's client and settings; the playbooks are the prompt sets, loaded already.
    llm = LLMClient(llm_config(settings))
    # The SDK imports its chat resources on first use; done here, that second is not
    # counted as the first case's model latency.
    importlib.import_module("openai.resources.chat")
    try:
        with Progress(
            TextColumn("Drafting cases"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as progress:
            task = progress.add_task("eval", total=len(sets) * len(cases))
            suites = await run_suites(
                llm,
                sets,
                cases,
                concurrency=concurrency,
                link_allowlist=settings.link_allowlist,
                advance=lambda: progress.advance(task),
            )
        grades = []
        if rubric:
            with err.status("Grading drafts with the rubric…", spinner="dots"):
                for suite in suites:
                    # One rubric for both sets: the new one's, so the judge is the same.
                    grades += await judge_suite(llm, sets[-1].base, suite, concurrency=concurrency)
        return suites, grades
    finally:
        await llm.aclose()


def _as_json(suites: list[Any], comparison: Any, grades: list[Any]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "suites": [
            {
                "label": suite.label,
                "version": suite.version,
                "pass_rates": {
                    k: {"passed": p, "total": t} for k, (p, t) in suite.pass_rates().items()
                },
                "cases": [
                    {
                        "id": run.case.id,
                        "passed": run.passed,
                        "error": run.error,
                        "checks": [
                            {"name": c.name, "passed": c.passed, "detail": c.detail}
                            for c in run.checks
                        ],
                        "draft": run.text,
                        "tokens": run.tokens,
                        "llm_ms": run.result.llm_ms if run.result else None,
                    }
                    for run in suite.runs
                ],
            }
            for suite in suites
        ]
    }
    if comparison is not None:
        data["regressions"] = [vars(c) for c in comparison.regressions()]
        data["fixes"] = [vars(c) for c in comparison.fixes()]
        data["changed_drafts"] = {d.case_id: d.diff for d in comparison.diffs()}
    if grades:
        data["rubric"] = [
            {
                "prompt_set": g.label,
                "case": g.case_id,
                "error": g.error,
                **(g.judgement.model_dump() if g.judgement else {}),
            }
            for g in grades
        ]
    return data


@eval_cli.command("import")
def import_cases(
    out_dir: Annotated[Path, typer.Option("--out", help="Where to write the case files.")] = Path(
        "evals/imported"
    ),
    limit: Annotated[int, typer.Option(help="How many stored complaints to look at.")] = 50,
    days: Annotated[int, typer.Option(help="Only complaints of the last N days (0: any).")] = 0,
    overwrite: Annotated[bool, typer.Option(help="Replace case files that exist.")] = False,
) -> None:
    """Write case files from stored complaints and the replies agents sent (PII redacted)."""
    from datetime import UTC, datetime, timedelta

    from app.evals.importer import write_cases

    settings = _settings(needs_key=False)
    since = datetime.now(UTC) - timedelta(days=days) if days else None

    past = read_store(
        settings.database_url, lambda store: store.past_drafts(limit=limit, since=since)
    )
    done = write_cases(past, out_dir, overwrite=overwrite)
    for path in done.skipped:
        err.print(f"[yellow]kept[/] {path}: it exists (--overwrite replaces it)", highlight=False)
    if not done.written and not done.skipped:
        raise fail("no sent replies stored yet: cases come from complaints agents answered.", 1)
    out.print(f"Wrote {len(done.written)} case file(s) to {out_dir}.", highlight=False)


@eval_cli.command("stored")
def stored(
    prompts: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(help="The changed prompt directory to try (default TACTFUL_PROMPTS_DIR)."),
    ] = None,
    limit: Annotated[int, typer.Option(help="How many past complaints to replay.")] = 20,
    days: Annotated[int, typer.Option(help="Only complaints of the last N days (0: any).")] = 30,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
) -> None:
    """Replay stored complaints with a prompt change and compare with the drafts agents saw."""
    from app.evals.importer import replay_stored
    from app.store import DatabaseURLError, StoreUnavailable
    from app.terminal_view import print_eval

    settings = _settings(prompts)
    try:
        report = asyncio.run(replay_stored(settings, limit=limit, days=days, status=err.status))
    except (StoreUnavailable, DatabaseURLError) as exc:
        raise fail(str(exc)) from None
    except PromptSetError as exc:
        raise fail("the prompt files have errors:\n" + str(exc)) from None
    if report is None:
        raise fail(
            "no stored drafts to replay yet: they come from the bot (or widen --days).", code=1
        )
    if as_json:
        rows = [
            {
                "case": r.case.label,
                "outcome": r.case.baseline.outcome,
                "steps": r.steps,
                "warnings": r.warnings,
                "offers_changed": r.offers_changed,
                "error": r.error,
                "draft": r.candidate.text if r.candidate else None,
            }
            for r in report.results
        ]
        out.print_json(json.dumps({"summary": report.summary(), "cases": rows}, ensure_ascii=False))
        return
    print_eval(out, report)

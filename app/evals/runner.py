"""Running an eval: every case through the real drafting pipeline, a few at a time.

Each (prompt set, case) pair is one job: the case's playbook is resolved in
that set, a ``DraftingPipeline`` (the bot's own class, with the bot's link
allowlist and the one LLM client) drafts the case, and the result is scored.
All jobs share one semaphore, so ``--concurrency`` bounds the requests in
flight whether one set runs or two.  A failed model call fails that case's
checks and the run goes on.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from app.domain.drafting import DraftingPipeline
from app.domain.models import DraftResult
from app.domain.ports import LLMError, StructuredLLM
from app.evals.cases import EXPECTATIONS, LoadedCase
from app.evals.prompt_sets import PromptSet
from app.evals.scoring import Check, score
from app.playbook import PromptError, PromptSetError


@dataclass(frozen=True)
class CaseRun:
    """One case drafted with one prompt set, and how it scored."""

    case: LoadedCase
    result: DraftResult | None
    checks: list[Check]
    seconds: float
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and all(check.passed for check in self.checks)

    @property
    def text(self) -> str:
        return self.result.text if self.result is not None else ""

    @property
    def tokens(self) -> int:
        return self.result.usage.total_tokens if self.result is not None else 0

    def check(self, name: str) -> Check | None:
        return next((c for c in self.checks if c.name == name), None)


@dataclass
class SuiteRun:
    """Every case drafted with one prompt set."""

    label: str
    version: str
    runs: list[CaseRun] = field(default_factory=list)

    def by_id(self) -> dict[str, CaseRun]:
        return {run.case.id: run for run in self.runs}

    def pass_rates(self) -> dict[str, tuple[int, int]]:
        """Per expectation: (cases passing it, cases setting it), for those any case sets."""
        rates: dict[str, tuple[int, int]] = {}
        for name in EXPECTATIONS:
            judged = [c for run in self.runs if (c := run.check(name)) is not None]
            if judged:
                rates[name] = (sum(c.passed for c in judged), len(judged))
        return rates

    @property
    def cases_passed(self) -> int:
        return sum(run.passed for run in self.runs)

    @property
    def errors(self) -> int:
        return sum(run.error is not None for run in self.runs)

    @property
    def tokens(self) -> int:
        return sum(run.tokens for run in self.runs)

    def latency_ms(self) -> tuple[float, float]:
        """Median and worst model latency of the drafted cases, in milliseconds."""
        times = sorted(run.result.llm_ms for run in self.runs if run.result is not None)
        if not times:
            return 0.0, 0.0
        return times[len(times) // 2], times[-1]


async def run_suites(
    llm: StructuredLLM,
    sets: Sequence[PromptSet],
    cases: Sequence[LoadedCase],
    *,
    concurrency: int = 8,
    link_allowlist: Sequence[str] = (),
    advance: Callable[[], None] | None = None,
) -> list[SuiteRun]:
    """Draft every case with every set; ``advance`` is called as each job finishes."""
    slots = asyncio.Semaphore(max(1, concurrency))

    async def job(prompt_set: PromptSet, loaded: LoadedCase) -> CaseRun:
        async with slots:
            run = await _draft_case(llm, prompt_set, loaded, link_allowlist)
        if advance is not None:
            advance()
        return run

    suites = []
    jobs = [[job(s, loaded) for loaded in cases] for s in sets]
    done = await asyncio.gather(*(run for per_set in jobs for run in per_set))
    for index, prompt_set in enumerate(sets):
        runs = list(done[index * len(cases) : (index + 1) * len(cases)])
        suites.append(SuiteRun(prompt_set.label, prompt_set.version, runs))
    return suites


async def _draft_case(
    llm: StructuredLLM, prompt_set: PromptSet, loaded: LoadedCase, link_allowlist: Sequence[str]
) -> CaseRun:
    case = loaded.case
    started = time.perf_counter()
    try:
        book = prompt_set.playbook_for(loaded)
        pipeline = DraftingPipeline(llm, lambda: book, link_allowlist=link_allowlist)
        result = await pipeline.draft(
            case.complaint(),
            tone=case.tone,
            guidance=case.guidance,
            reply_required=not case.watched,
        )
    except (LLMError, PromptError, PromptSetError) as exc:
        failed = [Check(name, False, "no draft") for name in case.expect.names()]
        return CaseRun(loaded, None, failed, time.perf_counter() - started, error=str(exc))
    return CaseRun(loaded, result, score(case.expect, result), time.perf_counter() - started)

"""Replaying past complaints against a prompt change, and comparing with what was drafted then.

A manager edits the prompt files or the catalog, then runs ``tactful eval stored``:
each stored complaint is drafted again with the new playbook and set beside
the draft agents saw (and what they did with it), so a change is judged on
real complaints before it ships.  Eval suites of written cases, scored and
compared, live in ``app.evals``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from app.domain.drafting import DraftingPipeline
from app.domain.models import Complaint, DraftResult, Flag, Step
from app.domain.ports import LLMError


@dataclass(frozen=True)
class Baseline:
    """The stored draft a complaint got, and what the agent did with it."""

    text: str
    offer_ids: list[str]
    checklist: dict[Step, bool]
    flags: list[Flag]
    prompt_version: str
    outcome: str


@dataclass(frozen=True)
class Case:
    label: str
    complaint: Complaint
    baseline: Baseline


@dataclass(frozen=True)
class CaseResult:
    case: Case
    candidate: DraftResult | None = None
    error: str | None = None

    @property
    def steps(self) -> tuple[int, int | None]:
        after = sum(self.candidate.checklist.values()) if self.candidate else None
        return sum(self.case.baseline.checklist.values()), after

    @property
    def warnings(self) -> tuple[int, int | None]:
        after = _warnings(self.candidate.flags) if self.candidate else None
        return _warnings(self.case.baseline.flags), after

    @property
    def offers_changed(self) -> bool:
        if self.candidate is None:
            return False
        return [o.offer_id for o in self.candidate.offers] != self.case.baseline.offer_ids


def _warnings(flags: Sequence[Flag]) -> int:
    return sum(1 for flag in flags if flag.severity != "info")


@dataclass
class EvalReport:
    prompt_version: str
    results: list[CaseResult] = field(default_factory=list)

    def summary(self) -> dict[str, float | int]:
        done = [r for r in self.results if r.candidate is not None]
        count = len(done) or 1
        return {
            "cases": len(self.results),
            "errors": len(self.results) - len(done),
            "steps_before": sum(r.steps[0] for r in done) / count,
            "steps_after": sum(r.steps[1] or 0 for r in done) / count,
            "warnings_before": sum(r.warnings[0] for r in done) / count,
            "warnings_after": sum(r.warnings[1] or 0 for r in done) / count,
            "offers_changed": sum(1 for r in done if r.offers_changed),
        }


async def replay(
    pipeline: DraftingPipeline, cases: Sequence[Case], *, prompt_version: str, concurrency: int = 4
) -> EvalReport:
    """Draft every case again with ``pipeline``; an LLM failure is recorded, not fatal."""
    slots = asyncio.Semaphore(concurrency)

    async def one(case: Case) -> CaseResult:
        async with slots:
            try:
                return CaseResult(case, await pipeline.draft(case.complaint))
            except LLMError as exc:
                return CaseResult(case, error=str(exc))

    results = await asyncio.gather(*(one(case) for case in cases))
    return EvalReport(prompt_version, list(results))

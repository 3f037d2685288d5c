"""What ``DraftingPipeline.draft`` costs by itself, with a model that answers instantly.

One draft is one model call that triages and drafts at once: prompt
rendering, PII redaction and fencing of the customer text, pydantic
validation and the guardrails.  The model's own time is taken out by answering at once with the
canned outputs of ``tests/fixtures/complaints/*.yaml`` (cycled, so the
guardrails see every kind of draft: clean ones, injected refunds, legal
threats, foreign languages).  Two variants:

* ``in-process``: an object satisfying ``StructuredLLM`` hands back the
  parsed ``FirstDraftOutput``: the pipeline's own overhead;
* ``LLMClient+http``: the real ``app.llm.LLMClient`` (OpenAI SDK) on an
  ``httpx.MockTransport`` answered by ``tests/fakes`` ``FakeOpenAI`` (the
  fixture's canned outputs as ``chat.completion`` JSON): adds request
  building, the SDK's response parsing, the JSON schema and the reply
  validation.  The fake's own time is measured and shown.

Run from the repository root::

    .venv/bin/python -m bench.pipeline_overhead --drafts 200
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import itertools
import pstats
import statistics
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import httpx
from pydantic import BaseModel

from app.domain.drafting import DraftingPipeline
from app.domain.models import (
    ChatMessage,
    Complaint,
    DraftOutput,
    DraftResult,
    FirstDraftOutput,
    TriageOutput,
)
from app.domain.ports import LLMResult
from app.llm import LLMClient, LLMConfig
from app.playbook import PlaybookSource
from tests.factories import PROMPTS_DIR, complaint_from_fixture, load_complaint_fixtures
from tests.fakes.openai_api import FakeOpenAI, fixture_reply

WARMUP = 20

T = TypeVar("T", bound=BaseModel)


@dataclass(frozen=True)
class CannedCase:
    """One complaint fixture and what the model answers for it."""

    fixture: dict[str, Any] = field(repr=False)
    complaint: Complaint
    triage: TriageOutput
    draft: DraftOutput

    @property
    def fixture_id(self) -> str:
        return str(self.fixture["id"])


def canned_cases() -> list[CannedCase]:
    cases = [
        CannedCase(
            fixture=fixture,
            complaint=complaint_from_fixture(fixture),
            triage=TriageOutput.model_validate(fixture["llm_triage"]),
            draft=DraftOutput.model_validate(fixture["llm_draft"]),
        )
        for fixture in load_complaint_fixtures()
    ]
    if not cases:
        raise SystemExit("no complaint fixtures found in tests/fixtures/complaints/")
    return cases


class CannedLLM:
    """A ``StructuredLLM`` that answers the current case at once, with no I/O."""

    def __init__(self) -> None:
        self.case: CannedCase | None = None
        self.calls = 0

    async def complete(
        self,
        messages: list[ChatMessage],
        schema: type[T],
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        model: str | None = None,
    ) -> LLMResult[T]:
        assert self.case is not None, "set .case before drafting"
        self.calls += 1
        if schema is FirstDraftOutput:
            first = FirstDraftOutput(triage=self.case.triage, **self.case.draft.model_dump())
            return LLMResult(cast(T, first), model="canned")
        if schema is DraftOutput:
            return LLMResult(cast(T, self.case.draft), model="canned")
        raise AssertionError(f"the pipeline asked for an unexpected schema {schema.__name__}")


class TimedFakeOpenAI:
    """``httpx.MockTransport`` handler: ``FakeOpenAI`` answering the current case, timed."""

    def __init__(self) -> None:
        self.fake = FakeOpenAI()
        self.calls = 0
        self.handler_ns = 0

    def answer_for(self, case: CannedCase) -> None:
        self.fake.responder = fixture_reply(case.fixture)

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        began = time.perf_counter_ns()
        self.calls += 1
        response = await self.fake.handle(request)
        self.fake.requests.clear()  # nothing reads them here; keep the heap flat
        self.handler_ns += time.perf_counter_ns() - began
        return response


@dataclass
class Run:
    label: str
    samples_ns: list[int]
    llm_calls: int
    flags: Counter[str]
    fixtures: int
    fake_ns: int = 0  # time spent inside the fake itself, included in the samples

    def row(self) -> list[str]:
        ms = [s / 1e6 for s in self.samples_ns]
        cuts = statistics.quantiles(ms, n=100, method="inclusive")
        fake = self.fake_ns / len(self.samples_ns) / 1e6 if self.fake_ns else None
        return [
            self.label,
            str(len(ms)),
            f"{statistics.median(ms):.2f}",
            f"{cuts[89]:.2f}",
            f"{cuts[98]:.2f}",
            f"{statistics.fmean(ms):.2f}",
            f"{min(ms):.2f}",
            f"{max(ms):.2f}",
            "-" if fake is None else f"{fake:.2f}",
        ]


DraftOnce = Callable[[CannedCase], Awaitable[DraftResult]]


async def measure(
    draft_once: DraftOnce,
    cases: list[CannedCase],
    drafts: int,
    *,
    after_warmup: Callable[[], None],
    profile: cProfile.Profile | None = None,
) -> tuple[list[int], Counter[str]]:
    """Warm up, then time ``drafts`` drafts one after another, cycling through the cases."""
    cycle = itertools.cycle(cases)
    for _ in range(WARMUP):
        await draft_once(next(cycle))
    after_warmup()
    samples: list[int] = []
    flags: Counter[str] = Counter()
    if profile is not None:
        profile.enable()
    for _ in range(drafts):
        case = next(cycle)
        began = time.perf_counter_ns()
        result = await draft_once(case)
        samples.append(time.perf_counter_ns() - began)
        if not result.text.strip():
            raise AssertionError(f"empty draft for {case.fixture_id}")
        flags.update(flag.code for flag in result.flags)
    if profile is not None:
        profile.disable()
    return samples, flags


async def run_in_process(
    source: PlaybookSource, cases: list[CannedCase], drafts: int, profile: cProfile.Profile | None
) -> Run:
    llm = CannedLLM()
    pipeline = DraftingPipeline(llm, source.current)

    async def draft_once(case: CannedCase) -> DraftResult:
        llm.case = case
        return await pipeline.draft(case.complaint)

    def reset() -> None:
        llm.calls = 0

    samples, flags = await measure(draft_once, cases, drafts, after_warmup=reset, profile=profile)
    return Run("in-process fake LLM", samples, llm.calls, flags, len(cases))


async def run_http(
    source: PlaybookSource, cases: list[CannedCase], drafts: int, profile: cProfile.Profile | None
) -> Run:
    transport = TimedFakeOpenAI()
    config = LLMConfig(
        api_key="sk-bench-not-real", base_url="http://llm.bench.invalid/v1", model="fake-model"
    )
    http_client = httpx.AsyncClient(transport=httpx.MockTransport(transport))
    async with http_client, LLMClient(config, http_client=http_client) as llm:
        pipeline = DraftingPipeline(llm, source.current)

        async def draft_once(case: CannedCase) -> DraftResult:
            transport.answer_for(case)
            return await pipeline.draft(case.complaint)

        def reset() -> None:
            transport.calls = transport.handler_ns = 0

        samples, flags = await measure(
            draft_once, cases, drafts, after_warmup=reset, profile=profile
        )
    return Run(
        "LLMClient + FakeOpenAI (MockTransport)",
        samples,
        transport.calls,
        flags,
        len(cases),
        fake_ns=transport.handler_ns,
    )


def print_table(runs: list[Run]) -> None:
    header = ["variant", "drafts", "median", "p90", "p99", "mean", "min", "max", "fake/draft"]
    rows = [header, *(run.row() for run in runs)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    print("per-draft time, ms (one triage-and-draft call + guardrails; the LLM answers instantly)")
    for i, row in enumerate(rows):
        cells = [
            row[0].ljust(widths[0]),
            *(c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)),
        ]
        print("  ".join(cells))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    for run in runs:
        per_draft = run.llm_calls / len(run.samples_ns)
        common = ", ".join(f"{code} x{n}" for code, n in run.flags.most_common(5)) or "none"
        print(
            f"{run.label}: {per_draft:g} LLM calls per draft over {run.fixtures} fixtures; "
            f"flags raised: {common}"
        )
    print("fake/draft: time spent inside FakeOpenAI per draft (included in the figures)")


async def main_async(options: argparse.Namespace) -> None:
    began = time.perf_counter_ns()
    source = PlaybookSource(PROMPTS_DIR)
    load_ms = (time.perf_counter_ns() - began) / 1e6
    cases = canned_cases()
    print(
        f"playbook {source.current().version} loaded in {load_ms:.1f} ms; "
        f"{len(cases)} complaint fixtures; warm-up {WARMUP} drafts per variant"
    )
    profile = cProfile.Profile() if options.profile else None
    runs = []
    runs.append(
        await run_in_process(
            source, cases, options.drafts, profile if options.profile == "in-process" else None
        )
    )
    runs.append(
        await run_http(
            source, cases, options.drafts, profile if options.profile == "http" else None
        )
    )
    print_table(runs)
    if profile is not None:
        print(f"\nprofile of the timed {options.profile} drafts (top 25 by own time):")
        pstats.Stats(profile, stream=sys.stdout).sort_stats("tottime").print_stats(25)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--drafts", type=int, default=200, help="timed drafts per variant")
    parser.add_argument(
        "--profile",
        choices=["in-process", "http"],
        help="also run cProfile over the timed drafts of one variant and print the hot spots",
    )
    options = parser.parse_args(argv)
    if options.drafts < 2:
        parser.error("--drafts must be at least 2")
    asyncio.run(main_async(options))


if __name__ == "__main__":
    main()

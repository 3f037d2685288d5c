"""The optional rubric: the configured model grades each draft, reported apart from the checks.

``prompts/rubric.prompt.md`` (ours, in the playbook, so ``tactful prompts
check`` validates it) asks for empathy, clarity, no blame and realistic
promises from 1 to 5.  A model's opinion varies from run to run, so it is
advice for the manager and never decides the exit code.  The customer's
message and the draft are redacted and fenced as data, in the user message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from app.domain.customer_data import fence
from app.domain.drafting import complete_prompt
from app.domain.ports import LLMError, PlaybookView, StructuredLLM
from app.evals.runner import SuiteRun
from app.playbook import PromptError

RUBRIC_PROMPT = "rubric"
CRITERIA = ("empathy", "clarity", "no_blame", "realistic_promises")


class RubricOutput(BaseModel):
    """JSON schema the rubric prompt fills in: each criterion from 1 (poor) to 5 (excellent)."""

    model_config = ConfigDict(extra="forbid")

    empathy: int = Field(description="1 (poor) to 5 (excellent)")
    clarity: int = Field(description="1 (poor) to 5 (excellent)")
    no_blame: int = Field(description="1 (poor) to 5 (excellent)")
    realistic_promises: int = Field(description="1 (poor) to 5 (excellent)")
    comment: str

    def clamped(self) -> RubricOutput:
        # The schema cannot bound an integer in every structured-output mode; the scale can.
        bounded = {name: min(5, max(1, getattr(self, name))) for name in CRITERIA}
        return self.model_copy(update=bounded)


@dataclass(frozen=True)
class RubricScores:
    label: str
    case_id: str
    judgement: RubricOutput | None = None
    error: str | None = None


async def judge_suite(
    llm: StructuredLLM, book: PlaybookView, suite: SuiteRun, *, concurrency: int = 8
) -> list[RubricScores]:
    """Grade every drafted reply of ``suite`` with ``book``'s rubric prompt."""
    slots = asyncio.Semaphore(max(1, concurrency))

    async def one(case_id: str, customer: str, reply: str) -> RubricScores:
        async with slots:
            try:
                prompt = book.render(
                    RUBRIC_PROMPT,
                    system={},
                    user={
                        "customer_message": fence("customer_message", customer),
                        "draft": fence("draft", reply),
                    },
                )
                result = await complete_prompt(llm, prompt, RubricOutput)
            except (LLMError, PromptError) as exc:
                return RubricScores(suite.label, case_id, error=str(exc))
        return RubricScores(suite.label, case_id, judgement=result.value.clamped())

    graded: Sequence[RubricScores] = await asyncio.gather(
        *(
            one(run.case.id, run.case.case.customer_message, run.text)
            for run in suite.runs
            if run.text.strip()
        )
    )
    return list(graded)


def averages(scores: Sequence[RubricScores]) -> dict[str, float]:
    judged = [s.judgement for s in scores if s.judgement is not None]
    if not judged:
        return {}
    return {name: sum(getattr(j, name) for j in judged) / len(judged) for name in CRITERIA}

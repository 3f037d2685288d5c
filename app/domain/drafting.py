"""From a complaint to a reviewed draft: redact, triage, draft, guardrails.

One pipeline serves the Slack bot, the CLI and the eval tool.  The model is
passed in (anything satisfying ``StructuredLLM``) and so is the playbook
source (a callable returning a ``PlaybookView``), so this module knows
nothing of Slack, of the OpenAI SDK, or of how prompt files are loaded.
"""

from __future__ import annotations

from collections.abc import Callable

from app.domain.customer_data import backing_context, fence, fence_history
from app.domain.guardrails import GuardedDraft, apply_guardrails
from app.domain.mentions import neutralize_mentions
from app.domain.models import (
    Complaint,
    DraftOutput,
    DraftResult,
    Flag,
    ProposedOffer,
    TokenUsage,
    Triage,
    TriageOutput,
)
from app.domain.ports import LLMResult, PlaybookView, RenderedPrompt, StructuredLLM, T

# Categories suggested to the triage model; it may name another when none fits.
CATEGORIES = (
    "delivery",
    "billing",
    "product_defect",
    "service_quality",
    "outage",
    "account_access",
    "data_loss",
    "safety",
    "booking",
    "other",
)


class DraftingPipeline:
    def __init__(self, llm: StructuredLLM, playbook: Callable[[], PlaybookView]) -> None:
        self._llm = llm
        self._playbook = playbook

    async def triage(self, complaint: Complaint) -> LLMResult[Triage]:
        book = self._playbook()
        prompt = book.render(
            "triage",
            system={
                "categories": list(CATEGORIES),
                "authority_summary": book.catalog.authority_summary(),
            },
            user=_customer_inputs(complaint),
        )
        result = await complete_prompt(self._llm, prompt, TriageOutput)
        triage = Triage.model_validate(result.value.model_dump())
        return LLMResult(triage, result.usage, result.model, result.latency_ms)

    async def draft(
        self,
        complaint: Complaint,
        *,
        tone: str | None = None,
        guidance: str | None = None,
        triage: Triage | None = None,
        agent_name: str | None = None,
    ) -> DraftResult:
        """Draft a reply; runs triage first unless the caller already has it."""
        book = self._playbook()
        usage, llm_ms = TokenUsage(), 0.0
        if triage is None:
            triaged = await self.triage(complaint)
            triage, usage, llm_ms = triaged.value, triaged.usage, triaged.latency_ms
        # The playbook fills in its own brand voice.
        prompt = book.render(
            "draft",
            system={
                "offers": book.catalog.for_prompt(),
                "tone": tone,
                "agent_name": agent_name,
            },
            user={
                **_customer_inputs(complaint),
                "triage": triage.model_dump(
                    include={"kind", "category", "urgency", "sentiment", "language", "summary"}
                ),
                "guidance": guidance,
            },
        )
        return await self._finish(
            book, prompt, complaint, guidance, triage, tone, usage=usage, llm_ms=llm_ms
        )

    async def rewrite(
        self,
        complaint: Complaint,
        previous: DraftResult,
        *,
        tone: str | None = None,
        guidance: str | None = None,
    ) -> DraftResult:
        """Regenerate an existing draft in another tone or after the agent's guidance."""
        book = self._playbook()
        # The playbook fills in its own brand voice.
        prompt = book.render(
            "tone",
            system={
                "offers": book.catalog.for_prompt(),
                "tone": tone,
            },
            user={
                "customer_message": fence("customer_message", complaint.text),
                "draft": previous.text,
                "current_offers": [
                    {"id": o.offer_id, "amount": o.amount, "why_it_helps": o.why_it_helps}
                    for o in previous.offers
                ],
                "guidance": guidance,
            },
        )
        return await self._finish(book, prompt, complaint, guidance, previous.triage, tone)

    async def _finish(
        self,
        book: PlaybookView,
        prompt: RenderedPrompt,
        complaint: Complaint,
        guidance: str | None,
        triage: Triage,
        tone: str | None,
        *,
        usage: TokenUsage | None = None,
        llm_ms: float = 0.0,
    ) -> DraftResult:
        """Ask for the draft, then let the guardrails, not the model, decide what stands."""
        result = await complete_prompt(self._llm, prompt, DraftOutput)
        context = backing_context(
            complaint.text, complaint.channel_context, guidance, history=complaint.history
        )
        guarded = apply_guardrails(
            result.value, catalog=book.catalog, policy=book.policy, context=context
        )
        total = (usage or TokenUsage()) + result.usage
        return _result(book, guarded, triage, result, tone, total, llm_ms + result.latency_ms)


async def complete_prompt(
    llm: StructuredLLM, prompt: RenderedPrompt, schema: type[T]
) -> LLMResult[T]:
    """Send a rendered prompt with its own model parameters."""
    return await llm.complete(
        prompt.messages,
        schema,
        temperature=prompt.params.temperature,
        max_tokens=prompt.params.max_tokens,
        model=prompt.params.model,
    )


def _customer_inputs(complaint: Complaint) -> dict[str, object]:
    return {
        "customer_message": fence("customer_message", complaint.text),
        "channel_context": fence("channel_context", complaint.channel_context),
        "history": fence_history(complaint.history),
    }


def _result(
    book: PlaybookView,
    guarded: GuardedDraft,
    triage: Triage,
    result: LLMResult[DraftOutput],
    tone: str | None,
    usage: TokenUsage,
    llm_ms: float,
) -> DraftResult:
    flags = list(guarded.flags)
    if triage.needs_escalation:
        reasons = "; ".join(triage.escalation_reasons) or "flagged by triage"
        flags.insert(0, Flag(code="needs_escalation", message=f"Escalate: {reasons}"))
    return DraftResult(
        text=guarded.text,
        offers=list(guarded.offers),
        checklist=guarded.checklist,
        flags=flags,
        follow_up=neutralize_mentions(result.value.follow_up)[0],
        triage=triage,
        prompt_version=book.version,
        model=result.model,
        tone=tone,
        usage=usage,
        llm_ms=llm_ms,
    )


def offers_by_id(
    book: PlaybookView, offer_ids: list[str], base: list[ProposedOffer]
) -> list[ProposedOffer]:
    """The offers an agent picked in the edit modal, in the order picked.

    An offer the draft already carried keeps its amount and reason; a newly
    picked one comes from the catalog with its default reason and no amount.
    """
    known = {o.offer_id: o for o in base}
    picked: list[ProposedOffer] = []
    for offer_id in offer_ids:
        if offer_id in known:
            picked.append(known[offer_id])
        elif (offer := book.catalog.get(offer_id)) is not None:
            picked.append(
                ProposedOffer(
                    offer_id=offer.id,
                    label=offer.label,
                    why_it_helps=offer.why,
                    unit=None if offer.unit == "none" else offer.unit,
                    currency=book.catalog.currency if offer.unit == "amount" else None,
                )
            )
    return picked

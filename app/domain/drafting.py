"""From a complaint to a reviewed draft: redact, triage and draft in one call, guardrails.

One pipeline serves the Slack bot, the CLI and the eval tool.  The model is
passed in (anything satisfying ``StructuredLLM``) and so is the playbook
source (a callable returning a ``PlaybookView``), so this module knows
nothing of Slack, of the OpenAI SDK, or of how prompt files are loaded.

Every text that leaves for the model is redacted first: the customer's
message, the thread, the channel context and the agent's guidance alike.
``recheck`` reviews an agent's edit, or a draft whose offers changed, with
the same guardrails and no model call.

A first draft is one model call: the triage fields come back in the same
answer as the reply, and a watched message that needs no reply comes back
short, with no reply at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from app.domain.customer_data import (
    backing_context,
    fence,
    fence_channel_context,
    history_entries,
    redacted,
)
from app.domain.guardrails import GuardedDraft, ReviewedText, apply_guardrails, review_text
from app.domain.mentions import neutralize_mentions
from app.domain.models import (
    Complaint,
    DraftOutput,
    DraftResult,
    FirstDraftOutput,
    Flag,
    OfferProposal,
    ProposedOffer,
    Triage,
)
from app.domain.ports import (
    LLMResult,
    PlaybookFor,
    PlaybookView,
    RenderedPrompt,
    StructuredLLM,
    T,
)

# Categories suggested to the model for the triage; it may name another when none fits.
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
    def __init__(
        self,
        llm: StructuredLLM,
        playbook: PlaybookFor | Callable[[], PlaybookView],
        *,
        link_allowlist: Sequence[str] = (),
    ) -> None:
        """``link_allowlist``: hosts replies may link to (``TACTFUL_LINK_ALLOWLIST``).

        The playbook's ``allowed_link_hosts`` are allowed too.  ``playbook`` is
        asked for the complaint's channel when it has one (``PlaybookFor``).
        """
        self._llm = llm
        self._playbook = playbook
        self._link_allowlist = tuple(link_allowlist)

    def _book(self, complaint: Complaint) -> PlaybookView:
        """The playbook of the complaint's channel; a source with one playbook ignores it."""
        if complaint.channel_id is None:
            return self._playbook()
        return self._playbook(complaint.channel_id)  # type: ignore[call-arg]

    def _allowlist(self, book: PlaybookView) -> list[str]:
        return [*self._link_allowlist, *book.policy.allowed_link_hosts]

    async def draft(
        self,
        complaint: Complaint,
        *,
        tone: str | None = None,
        guidance: str | None = None,
        agent_name: str | None = None,
        reply_required: bool = True,
    ) -> DraftResult:
        """Triage and draft a reply in one model call.

        ``reply_required`` is True when an agent asked for the draft.  When it is
        False (a watched message) and the triage finds no complaint to answer, the
        result has ``needs_reply`` False, an empty text and no offers: the
        guardrails have nothing to review.
        """
        book = self._book(complaint)
        guidance = redacted(guidance)
        tone = tone if tone is not None else book.default_tone
        # The playbook fills in its own brand voice.
        prompt = book.render(
            "draft",
            system={
                "categories": list(CATEGORIES),
                "offers": book.catalog.for_prompt(),
                "tone": tone,
                "agent_name": agent_name,
                "sign_off_name": book.sign_off_name,
                "reply_required": reply_required,
                "relayed": complaint.relayed,
            },
            user={**_customer_inputs(complaint), "guidance": guidance},
        )
        result = await complete_prompt(self._llm, prompt, FirstDraftOutput)
        triage = Triage.model_validate(result.value.triage.model_dump())
        drafted = LLMResult(result.value.draft(), result.usage, result.model, result.latency_ms)
        if not reply_required and not triage.wants_draft:
            return _no_reply(book, triage, drafted, tone)
        return self._reviewed(book, drafted, complaint, guidance, triage, tone)

    async def rewrite(
        self,
        complaint: Complaint,
        previous: DraftResult,
        *,
        tone: str | None = None,
        guidance: str | None = None,
        offers: Sequence[ProposedOffer] | None = None,
    ) -> DraftResult:
        """Regenerate an existing draft in another tone, after guidance, or for other offers.

        ``offers``, when given, are the agent's pick: the new text must carry exactly
        those, and the result lists exactly those (the model only fills in an amount
        the pick leaves open, within the limit); the guardrails flag any other offer
        the text still makes.
        """
        book = self._book(complaint)
        guidance = redacted(guidance)
        # The playbook fills in its own brand voice.
        prompt = book.render(
            "tone",
            system={
                "offers": book.catalog.for_prompt(),
                "tone": tone,
                "sign_off_name": book.sign_off_name,
            },
            user={
                "customer_message": fence("customer_message", complaint.text),
                "draft": previous.text,
                "current_offers": _offers_for_prompt(book, previous.offers),
                "chosen_offers": _offers_for_prompt(book, offers or []),
                "guidance": guidance,
            },
        )
        result = await complete_prompt(self._llm, prompt, DraftOutput)
        return self._reviewed(
            book, result, complaint, guidance, previous.triage, tone, chosen=offers
        )

    def recheck(
        self,
        complaint: Complaint,
        text: str,
        offers: Sequence[ProposedOffer],
        *,
        guidance: str | None = None,
        previous: DraftResult | None = None,
    ) -> ReviewedText:
        """Flags and checklist for ``text`` sent with ``offers``: no model call.

        Call it on every agent edit and every offer change, with the current
        playbook.  ``previous`` (the draft being edited) gives the checklist steps a
        text alone cannot show and the triage's escalation; without it those
        steps read as not covered.  Backing comes from the complaint's channel
        context and agent or bot history, and ``guidance``.
        """
        book = self._book(complaint)
        context = backing_context(
            channel_context=complaint.channel_context,
            guidance=redacted(guidance),
            history=complaint.history,
        )
        reviewed = review_text(
            text,
            offers,
            catalog=book.catalog,
            policy=book.policy,
            context=context,
            allowlist=self._allowlist(book),
            previous_checklist=previous.checklist if previous else None,
        )
        escalation = _escalation_flag(previous.triage) if previous else None
        if escalation is None:
            return reviewed
        return ReviewedText([escalation, *reviewed.flags], reviewed.checklist)

    def _reviewed(
        self,
        book: PlaybookView,
        result: LLMResult[DraftOutput],
        complaint: Complaint,
        guidance: str | None,
        triage: Triage,
        tone: str | None,
        *,
        chosen: Sequence[ProposedOffer] | None = None,
    ) -> DraftResult:
        """The model's draft after the guardrails, not the model, decided what stands."""
        output = result.value if chosen is None else _pinned(result.value, chosen)
        context = backing_context(
            channel_context=complaint.channel_context, guidance=guidance, history=complaint.history
        )
        guarded = apply_guardrails(
            output,
            catalog=book.catalog,
            policy=book.policy,
            context=context,
            allowlist=self._allowlist(book),
        )
        return _result(book, guarded, triage, result, tone)


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
        "channel_context": fence_channel_context(complaint.channel_context),
        "history": history_entries(complaint.history),
        # The sender's name from a relayed e-mail: the customer wrote it, so it is fenced too.
        "customer_name": fence("customer_name", complaint.customer_name),
    }


def _offers_for_prompt(
    book: PlaybookView, offers: Sequence[ProposedOffer]
) -> list[dict[str, object]]:
    shown: list[dict[str, object]] = []
    for offer in offers:
        known = book.catalog.get(offer.offer_id)
        shown.append(
            {
                "id": offer.offer_id,
                "label": offer.label,
                "amount": offer.amount,
                "unit": offer.unit or "none",
                "limit": known.limit_text(book.catalog.currency) if known else "no amount",
                "why_it_helps": offer.why_it_helps,
            }
        )
    return shown


def _pinned(output: DraftOutput, chosen: Sequence[ProposedOffer]) -> DraftOutput:
    """The model's output listing exactly the agent's offers, in the agent's order.

    An amount the agent's pick carries stands; one it leaves open is the model's,
    and the guardrails still hold it to the offer's limit.
    """
    proposed = {p.offer_id: p for p in output.offers}
    offers = []
    for offer in chosen:
        model = proposed.get(offer.offer_id)
        amount = offer.amount if offer.amount is not None or model is None else model.amount
        why = (model.why_it_helps.strip() if model else "") or offer.why_it_helps
        offers.append(OfferProposal(offer_id=offer.offer_id, amount=amount, why_it_helps=why))
    return output.model_copy(update={"offers": offers})


def _escalation_flag(triage: Triage) -> Flag | None:
    if not triage.needs_escalation:
        return None
    reasons = "; ".join(triage.escalation_reasons) or "flagged by triage"
    return Flag(code="needs_escalation", message=f"Escalate: {reasons}")


def _result(
    book: PlaybookView,
    guarded: GuardedDraft,
    triage: Triage,
    result: LLMResult[DraftOutput],
    tone: str | None,
) -> DraftResult:
    flags = list(guarded.flags)
    escalation = _escalation_flag(triage)
    if escalation is not None:
        flags.insert(0, escalation)
    return DraftResult(
        text=guarded.text,
        offers=list(guarded.offers),
        checklist=guarded.checklist,
        flags=flags,
        follow_up=neutralize_mentions(result.value.follow_up)[0],
        triage=triage,
        prompt_version=book.version,
        playbook=book.name,
        model=result.model,
        tone=tone,
        usage=result.usage,
        llm_ms=result.latency_ms,
    )


def _no_reply(
    book: PlaybookView, triage: Triage, result: LLMResult[DraftOutput], tone: str | None
) -> DraftResult:
    """A watched message that needs no reply: whatever text the model wrote anyway is dropped."""
    return DraftResult(
        text="",
        offers=[],
        checklist={},
        flags=[],
        follow_up="",
        triage=triage,
        prompt_version=book.version,
        playbook=book.name,
        model=result.model,
        tone=tone,
        usage=result.usage,
        llm_ms=result.latency_ms,
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

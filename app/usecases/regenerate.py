"""Regenerate: rewrite a pending draft in another tone or after the agent's guidance."""

from __future__ import annotations

from app import metrics
from app.domain.draft_life import DraftState
from app.domain.ports import LLMError
from app.domain.redact import redact
from app.usecases.draft import ModelWork, explain


class Regenerate(ModelWork):
    async def request(
        self,
        *,
        draft_id: int,
        user_id: str,
        tone: str | None = None,
        guidance: str | None = None,
        keep_offers: bool = False,
    ) -> None:
        """Queue the rewrite; the job runner does it after the ack."""
        # Guidance leaves for the LLM like customer text does, so it is redacted too.
        guidance = redact(guidance).text if guidance else None
        draft = await self._store.get_draft(draft_id=draft_id)
        await self._store.enqueue(
            kind="regenerate",
            complaint_id=draft.complaint_id if draft else None,
            draft_id=draft_id,
            payload={
                "draft_id": draft_id,
                "tone": tone,
                "guidance": guidance,
                "user_id": user_id,
                "keep_offers": keep_offers,
            },
        )
        await self._store.record_decision(
            draft_id=draft_id,
            user_id=user_id,
            action="regenerate",
            detail={"tone": tone, "guidance": guidance},
        )
        metrics.DECISIONS.labels(action="regenerate").inc()

    async def __call__(
        self,
        *,
        draft_id: int,
        user_id: str,
        tone: str | None,
        guidance: str | None,
        keep_offers: bool = False,
    ) -> None:
        """Rewrite the draft; ``keep_offers``: the agent chose the offers, the text follows them."""
        draft = await self._store.get_draft(draft_id=draft_id)
        if draft is None or draft.status != DraftState.PENDING:
            return
        complaint = await self._store.get_complaint(complaint_id=draft.complaint_id)
        previous = draft.as_result()
        if complaint is None or previous is None:
            return
        conversation = await self._reader.complaint(complaint)
        try:
            # After a pick the agent's offers stand; the text is rewritten to carry them.
            result = await self._pipeline.rewrite(
                conversation,
                previous,
                tone=tone,
                guidance=guidance,
                offers=previous.offers if keep_offers else None,
            )
        except LLMError as exc:
            await self._store.note_draft_error(draft_id=draft.id, error=explain(exc))
            await self._cards.refresh(draft.id)
            return
        await self._store.replace_result(draft_id=draft.id, result=result, user_id=user_id)
        metrics.DRAFTS.labels(outcome="regenerated").inc()
        await self._cards.refresh(draft.id)

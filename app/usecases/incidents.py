"""Incidents: a burst of the same complaint becomes one card, drafted once.

A watched complaint is placed before it is drafted (``place``): alone, it
follows the one-card-per-complaint path; in an incident, only the incident's
lead drafts (once, for everyone), and every other member just redraws the
incident card.  When an incident forms, the single cards its members already
have are retired.  The card is drawn from the store like every other card;
redraws of one incident are coalesced, so fifty joins make a handful of
``chat.update`` calls, each paced by the Slack client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

import structlog

from app.domain.approval import fingerprint
from app.domain.draft_life import DraftState
from app.domain.incidents import Embedder, IncidentState
from app.domain.limits import cap_text
from app.domain.ports import LLMError
from app.domain.redact import redact
from app.store import Complaint, Draft, Store
from app.store.incidents import Grouping, Incident, Placement
from app.usecases.cards import CardDesk
from app.usecases.ports import CardRef, SlackFailure, SlackPort

log = structlog.get_logger(__name__)

MAX_DESCRIPTION_CHARS = 1000


@dataclass(frozen=True, kw_only=True)
class IncidentCard:
    """Everything the incident card shows, read from the store in one redraw."""

    incident: Incident
    members: list[Complaint]
    # The lead's draft: the one shared draft (None until the lead has one).
    shared: Draft | None
    sent: int
    # Other open incidents, for the card's "Merge into" menu.
    others: list[Incident]


class IncidentCardPort(Protocol):
    """What incidents need of Slack beyond ``SlackPort`` (the gateway implements both)."""

    async def post_incident_card(self, card: IncidentCard) -> CardRef: ...

    async def update_incident_card(self, ref: CardRef, card: IncidentCard) -> None: ...


class EmbeddingClient(Protocol):
    async def embed(self, texts: Sequence[str], *, model: str) -> list[list[float]]: ...


class ServerEmbedder:
    """Embeddings from the configured OpenAI-compatible server (``TACTFUL_EMBEDDING_MODEL``)."""

    def __init__(self, client: EmbeddingClient, model: str) -> None:
        self._client = client
        self.source = model

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return await self._client.embed(texts, model=self.source)


def window_of(minutes: float, threshold: float, min_size: int) -> Grouping:
    return Grouping(timedelta(minutes=minutes), threshold, min_size)


class IncidentDesk:
    def __init__(
        self,
        store: Store,
        slack: SlackPort,
        incident_cards: IncidentCardPort,
        cards: CardDesk,
        *,
        embedder: Embedder,
        grouping: Grouping,
    ) -> None:
        self._store = store
        self._slack = slack
        self._port = incident_cards
        self._cards = cards
        self._embedder = embedder
        self._grouping = grouping
        self._drawing: set[int] = set()
        self._again: set[int] = set()
        self._background: set[asyncio.Task[None]] = set()

    @property
    def enabled(self) -> bool:
        """Grouping is on (``TACTFUL_INCIDENT_MIN_SIZE`` at least 1)."""
        return self._grouping.min_size >= 1

    # --- placing complaints ---------------------------------------------------------

    async def place(self, complaint: Complaint) -> Placement | None:
        """Where a watched complaint belongs; None when grouping is off or cannot decide."""
        if not self.enabled or complaint.source != "watch":
            return None
        try:
            # The stored text is already redacted: nothing else leaves for the server.
            [vector] = await self._embedder.embed([complaint.text])
        except LLMError as exc:
            # Ungrouped is the safe side: the complaint still gets its own card.
            log.warning("incident_embedding_failed", error=str(exc)[:200])
            return None
        placement = await self._store.place_complaint(
            complaint_id=complaint.id, source=self._embedder.source, vector=vector,
            grouping=self._grouping,
        )
        if placement.kind == "formed" and placement.incident_id is not None:
            log.info("incident_formed", incident_id=placement.incident_id)
            await self._retire_single_cards(placement.incident_id)
        return placement

    async def redraw_for(self, complaint_id: int) -> bool:
        """Redraw the incident card of this complaint's incident; False when it has none."""
        if not self.enabled:
            return False
        incident_id = await self._store.incident_of(complaint_id=complaint_id)
        if incident_id is None:
            return False
        await self._store.touch_incident(incident_id=incident_id)
        await self.refresh(incident_id)
        return True

    async def retire_if_grouped(self, complaint_id: int) -> None:
        """A single card posted while its complaint joined an incident: retire it.

        Either this check sees the incident, or the incident's forming saw this card:
        the card was stored before the check, and the forming reads cards after it.
        """
        if not self.enabled:
            return
        incident_id = await self._store.incident_of(complaint_id=complaint_id)
        if incident_id is not None:
            await self._retire_card_of(complaint_id, incident_id)

    async def _retire_single_cards(self, incident_id: int) -> None:
        for complaint in await self._store.incident_members(incident_id=incident_id):
            await self._retire_card_of(complaint.id, incident_id)

    async def _retire_card_of(self, complaint_id: int, incident_id: int) -> None:
        draft = await self._store.latest_draft(complaint_id=complaint_id)
        if draft is None or not (draft.card_channel and draft.card_ts):
            return
        if draft.status not in (DraftState.PENDING, DraftState.FAILED):
            return
        try:
            await self._slack.retire_card(
                CardRef(draft.card_channel, draft.card_ts),
                note=f":rotating_light: Part of incident #{incident_id} now: "
                "it is answered from the incident card.",
            )
        except SlackFailure as exc:
            log.warning("single_card_not_retired", error=exc.error)

    # --- the card -------------------------------------------------------------------

    def refresh_soon(self, incident_id: int) -> None:
        """Redraw without waiting (progress during a fan-out); coalesced like ``refresh``."""
        task = asyncio.create_task(self.refresh(incident_id))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def refresh(self, incident_id: int) -> None:
        """Draw the card from the store; a call while a redraw runs makes it draw once more."""
        if incident_id in self._drawing:
            self._again.add(incident_id)
            return
        self._drawing.add(incident_id)
        try:
            while True:
                self._again.discard(incident_id)
                try:
                    stale = await self._draw(incident_id)
                except SlackFailure as exc:
                    log.warning("incident_card_not_drawn", incident_id=incident_id,
                                error=exc.error)
                    return
                if not stale and incident_id not in self._again:
                    return
        finally:
            self._drawing.discard(incident_id)

    async def _draw(self, incident_id: int) -> bool:
        """One drawing; True when the incident changed meanwhile (draw again)."""
        card = await self.card(incident_id)
        if card is None or card.incident.status == IncidentState.MERGED:
            return False
        incident = card.incident
        if incident.card_ts and incident.card_channel:
            await self._port.update_incident_card(
                CardRef(incident.card_channel, incident.card_ts), card
            )
        elif await self._store.claim_incident_card(incident_id=incident_id):
            ref = await self._port.post_incident_card(card)
            await self._store.set_incident_card(
                incident_id=incident_id, channel=ref.channel, ts=ref.ts
            )
        else:
            return False  # another worker is posting it and will draw the latest state
        await self._store.mark_incident_drawn(incident_id=incident_id, revision=incident.revision)
        now = await self._store.get_incident(incident_id=incident_id)
        return now is not None and now.revision > incident.revision

    async def card(self, incident_id: int) -> IncidentCard | None:
        incident = await self._store.get_incident(incident_id=incident_id)
        if incident is None:
            return None
        members = await self._store.incident_members(incident_id=incident_id)
        shared = (
            await self._store.latest_draft(complaint_id=incident.lead_complaint_id)
            if incident.lead_complaint_id else None
        )
        sent = 0
        if incident.status != IncidentState.OPEN:
            for member in members:
                draft = await self._store.latest_draft(complaint_id=member.id)
                sent += draft is not None and draft.status == DraftState.SENT
        others = [o for o in await self._store.open_incidents() if o.id != incident_id]
        return IncidentCard(
            incident=incident, members=members, shared=shared, sent=sent, others=others
        )

    # --- agents' actions ------------------------------------------------------------

    async def approve_all(self, *, incident_id: int, user_id: str, seen: str | None) -> str | None:
        """Queue the fan-out; returns what to tell the agent when nothing was queued."""
        incident = await self._store.get_incident(incident_id=incident_id)
        if incident is None or incident.status != IncidentState.OPEN:
            return "This incident was already sent, or merged into another one."
        # A fan-out that stopped part way is approved again with the text approved then.
        text = incident.shared_text
        if text is None:
            if incident.lead_complaint_id is None:
                return "This incident has no draft yet."
            shared = await self._store.latest_draft(complaint_id=incident.lead_complaint_id)
            if shared is None or shared.status != DraftState.PENDING:
                return "The shared draft is not ready yet; try again in a moment."
            if shared.blocked:
                return ("A check blocks the shared draft (see the :no_entry: flags). Nothing "
                        "was sent: pull out the lead complaint and handle it alone.")
            text = shared.text
        if seen and seen != fingerprint(text):
            return ("The shared draft changed after you saw it. Nothing was sent: "
                    "read the updated card and approve again.")
        if not await self._store.start_fan_out(
            incident_id=incident_id, user_id=user_id, shared_text=text
        ):
            return "Another agent approved this incident already."
        await self.refresh(incident_id)
        return None

    async def pull_out(self, *, incident_id: int, complaint_ids: Sequence[int]) -> list[int]:
        """Handle these complaints alone again: each gets (back) its own card."""
        taken = await self._store.pull_out(incident_id=incident_id, complaint_ids=complaint_ids)
        for complaint_id in taken:
            draft = await self._store.latest_draft(complaint_id=complaint_id)
            if draft is not None and draft.status == DraftState.PENDING and draft.card_ts:
                # Its single card was retired when the incident formed: draw it again.
                await self._cards.refresh(draft.id)
            elif draft is None or draft.status in (DraftState.PENDING, DraftState.FAILED):
                await self._store.enqueue(
                    kind="draft", complaint_id=complaint_id, payload={"force": True}
                )
        incident = await self._store.get_incident(incident_id=incident_id)
        if incident is not None and incident.lead_complaint_id is not None and taken:
            lead = await self._store.latest_draft(complaint_id=incident.lead_complaint_id)
            if lead is None:
                # The shared draft left with the lead: the next member drafts it.
                await self._store.enqueue(kind="draft", complaint_id=incident.lead_complaint_id)
        await self.refresh(incident_id)
        return taken

    async def merge(self, *, incident_id: int, into_id: int) -> bool:
        incident = await self._store.get_incident(incident_id=incident_id)
        if incident is None or not await self._store.merge_incidents(
            incident_id=incident_id, into_id=into_id
        ):
            return False
        if incident.card_channel and incident.card_ts:
            await self._slack.retire_card(
                CardRef(incident.card_channel, incident.card_ts),
                note=f":twisted_rightwards_arrows: Merged into incident #{into_id}.",
            )
        await self.refresh(into_id)
        return True

    async def declare(self, *, description: str, user_id: str) -> int:
        """An agent declares an incident; raises ``LLMError`` when it cannot be embedded."""
        context = redact(cap_text(description.strip(), MAX_DESCRIPTION_CHARS).text).text
        [vector] = await self._embedder.embed([context])
        incident_id = await self._store.declare_incident(
            context=context, declared_by=user_id, source=self._embedder.source, vector=vector
        )
        await self.refresh(incident_id)
        return incident_id

    async def describe(self, *, incident_id: int, description: str, user_id: str) -> bool:
        """Agents' description of an incident found by grouping: later drafts use it."""
        context = redact(cap_text(description.strip(), MAX_DESCRIPTION_CHARS).text).text
        if not await self._store.describe_incident(
            incident_id=incident_id, context=context, user_id=user_id
        ):
            return False
        await self.refresh(incident_id)
        return True

    async def drain(self) -> None:
        await asyncio.gather(*self._background, return_exceptions=True)

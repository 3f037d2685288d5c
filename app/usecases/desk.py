"""The composition root of the use cases: each one built once, from explicit collaborators.

The Slack adapter, the benchmark and the use-case tests all build a ``Desk``
the same way; only the ``SlackPort`` differs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal, cast

from app.domain.briefing import BriefingPipeline
from app.domain.channels import ChannelKinds
from app.domain.drafting import DraftingPipeline
from app.domain.incidents import Embedder, LexicalEmbedder
from app.domain.ports import PlaybookFor
from app.store import Job, Store
from app.usecases.ack_first import AckFirst
from app.usecases.approve import ApproveAndSend
from app.usecases.brief import BriefSlack, BriefThread
from app.usecases.cards import CardDesk
from app.usecases.commitments import DraftFollowUp, FollowThrough, Reminders, TimeZones
from app.usecases.discard import Discard
from app.usecases.draft import ConversationReader, DraftComplaint, PreviewDraft
from app.usecases.incidents import IncidentCardPort, IncidentDesk, window_of
from app.usecases.incidents_send import SendToAll
from app.usecases.intake import Intake
from app.usecases.jobs import JobRunner
from app.usecases.ports import SlackPort
from app.usecases.regenerate import Regenerate
from app.usecases.relay_send import MarkRelayedSent
from app.usecases.revise import Revise
from app.usecases.settle_sends import SettleSends


@dataclass(frozen=True, kw_only=True)
class DeskSettings:
    """The settings the use cases read, named as they use them."""

    watched_channels: list[str]
    # Internal channels where agents paste customers' e-mails and chats (TACTFUL_RELAY_CHANNELS).
    relay_channels: list[str] = field(default_factory=list)
    send_as: Literal["bot", "agent"] = "bot"
    follow_up_hours: float = 0.0
    # Customers' time zones for commitments ("by Friday"), and how early their owner is reminded.
    time_zone: str = "UTC"
    channel_time_zones: dict[str, str] = field(default_factory=dict)
    remind_before_minutes: float = 60.0
    concurrency: int = 8
    lease_s: float = 20.0
    max_message_chars: int = 8000
    max_history_chars: int = 20000
    # Where "Send to review channel" posts a brief.
    review_channel: str = ""
    # Complaint bursts (app.usecases.incidents); a min size of 0 keeps one card per complaint.
    incident_window_minutes: float = 30.0
    incident_threshold: float = 0.4
    incident_min_size: int = 0


@dataclass(frozen=True, kw_only=True)
class Desk:
    intake: Intake
    draft: DraftComplaint
    preview: PreviewDraft
    regenerate: Regenerate
    revise: Revise
    approve: ApproveAndSend
    # "Mark as sent" of a relayed customer's reply, pasted by the agent into e-mail or chat.
    mark_sent: MarkRelayedSent
    discard: Discard
    settle_sends: SettleSends
    reminders: Reminders
    draft_follow_up: DraftFollowUp
    brief: BriefThread
    cards: CardDesk
    jobs: JobRunner
    # None when the Slack port cannot draw incident cards (the use-case tests' fake).
    incidents: IncidentDesk | None = None
    # Acks in flight, and the few jobs at a time past their model answer (ack_first.py).
    ack_first: AckFirst = field(default_factory=AckFirst)


def build_desk(
    *,
    store: Store,
    slack: SlackPort,
    drafting: DraftingPipeline,
    briefing: BriefingPipeline,
    playbook: PlaybookFor,
    settings: DeskSettings,
    worker_id: str,
    home_team_id: str | None,
    incident_cards: IncidentCardPort | None = None,
    embedder: Embedder | None = None,
    ack_first: AckFirst | None = None,
) -> Desk:
    ack_first = ack_first or AckFirst()
    cards = CardDesk(store, slack)
    reader = ConversationReader(store, slack, max_history_chars=settings.max_history_chars)
    draft = DraftComplaint(store, drafting, reader, cards)
    draft.ack_first = ack_first
    regenerate = Regenerate(*draft.collaborators())
    follow_through = FollowThrough(
        store,
        zones=TimeZones(settings.time_zone, dict(settings.channel_time_zones)),
        remind_before=timedelta(minutes=settings.remind_before_minutes),
        follow_up_hours=settings.follow_up_hours,
    )

    async def run_draft(job: Job) -> None:
        assert job.complaint_id is not None
        await draft(
            complaint_id=job.complaint_id,
            force=bool(job.payload.get("force")),
            accepted=job.accepted,
        )

    async def run_regenerate(job: Job) -> None:
        await regenerate(
            draft_id=int(job.payload["draft_id"]),
            user_id=str(job.payload.get("user_id") or ""),
            tone=job.payload.get("tone"),
            guidance=job.payload.get("guidance"),
            keep_offers=bool(job.payload.get("keep_offers")),
        )

    incidents, incident_jobs = None, {}
    if incident_cards is not None:
        incidents = IncidentDesk(
            store, slack, incident_cards, cards, embedder=embedder or LexicalEmbedder(),
            grouping=window_of(settings.incident_window_minutes, settings.incident_threshold,
                               settings.incident_min_size),
        )
        draft.incidents = incidents
        send_to_all = SendToAll(store, slack, incidents)

        async def run_incident_send(job: Job) -> None:
            await send_to_all(
                incident_id=int(job.payload["incident_id"]), user_id=str(job.payload["user_id"])
            )

        incident_jobs = {"incident_send": run_incident_send}

    async def give_up(job: Job, error: str) -> None:
        if job.kind == "incident_send" and incidents is not None:
            incident_id = int(job.payload["incident_id"])
            await store.reopen_fan_out(incident_id=incident_id)
            await incidents.refresh(incident_id)
        if job.kind == "draft" and job.complaint_id is not None:
            await draft.give_up(complaint_id=job.complaint_id, error=error)

    # One view of the watched channels and their kinds, shared by intake and briefs.
    channels = ChannelKinds(support=settings.watched_channels, relay=settings.relay_channels)
    return Desk(
        intake=Intake(
            store,
            slack,
            watched_channels=settings.watched_channels,
            home_team_id=home_team_id,
            max_message_chars=settings.max_message_chars,
            channels=channels,
        ),
        draft=draft,
        preview=PreviewDraft(drafting),
        regenerate=regenerate,
        revise=Revise(draft, playbook=playbook, regenerate=regenerate),
        approve=ApproveAndSend(
            store,
            slack,
            cards,
            send_as=settings.send_as,
            follow_through=follow_through,
        ),
        mark_sent=MarkRelayedSent(store, cards, follow_through=follow_through),
        discard=Discard(store, cards),
        settle_sends=SettleSends(store, slack, cards, follow_through),
        reminders=Reminders(store, slack),
        draft_follow_up=DraftFollowUp(store, slack),
        # The Slack adapter also implements BriefSlack; a port without it never briefs.
        brief=BriefThread(
            cast(BriefSlack, slack), briefing, store, review_channel=settings.review_channel,
            channels=channels,
        ),
        cards=cards,
        incidents=incidents,
        ack_first=ack_first,
        jobs=JobRunner(
            store,
            {"draft": run_draft, "regenerate": run_regenerate, **incident_jobs},
            worker_id=worker_id,
            concurrency=settings.concurrency,
            lease_s=settings.lease_s,
            give_up=give_up,
            ack_first=ack_first,
        ),
    )

"""The composition root of the use cases: each one built once, from explicit collaborators.

The Slack adapter, the benchmark and the use-case tests all build a ``Desk``
the same way; only the ``SlackPort`` differs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from app.domain.briefing import BriefingPipeline
from app.domain.drafting import DraftingPipeline
from app.domain.ports import PlaybookView
from app.store import Job, Store
from app.usecases.approve import ApproveAndSend
from app.usecases.brief import BriefThread
from app.usecases.cards import CardDesk
from app.usecases.discard import Discard
from app.usecases.draft import ConversationReader, DraftComplaint, PreviewDraft
from app.usecases.intake import Intake
from app.usecases.jobs import JobRunner
from app.usecases.ports import SlackPort
from app.usecases.regenerate import Regenerate
from app.usecases.revise import Revise
from app.usecases.settle_sends import SettleSends


@dataclass(frozen=True, kw_only=True)
class DeskSettings:
    """The settings the use cases read, named as they use them."""

    watched_channels: list[str]
    send_as: Literal["bot", "agent"] = "bot"
    follow_up_hours: float = 0.0
    concurrency: int = 8
    lease_s: float = 20.0
    max_message_chars: int = 8000
    max_history_chars: int = 20000


@dataclass(frozen=True, kw_only=True)
class Desk:
    intake: Intake
    draft: DraftComplaint
    preview: PreviewDraft
    regenerate: Regenerate
    revise: Revise
    approve: ApproveAndSend
    discard: Discard
    settle_sends: SettleSends
    brief: BriefThread
    cards: CardDesk
    jobs: JobRunner


def build_desk(
    *,
    store: Store,
    slack: SlackPort,
    drafting: DraftingPipeline,
    briefing: BriefingPipeline,
    playbook: Callable[[], PlaybookView],
    settings: DeskSettings,
    worker_id: str,
    home_team_id: str | None,
) -> Desk:
    cards = CardDesk(store, slack)
    reader = ConversationReader(store, slack, max_history_chars=settings.max_history_chars)
    draft = DraftComplaint(store, drafting, reader, cards)
    regenerate = Regenerate(*draft.collaborators())

    async def run_draft(job: Job) -> None:
        assert job.complaint_id is not None
        await draft(complaint_id=job.complaint_id, force=bool(job.payload.get("force")))

    async def run_regenerate(job: Job) -> None:
        await regenerate(
            draft_id=int(job.payload["draft_id"]),
            user_id=str(job.payload.get("user_id") or ""),
            tone=job.payload.get("tone"),
            guidance=job.payload.get("guidance"),
            keep_offers=bool(job.payload.get("keep_offers")),
        )

    async def give_up(job: Job, error: str) -> None:
        if job.kind == "draft" and job.complaint_id is not None:
            await draft.give_up(complaint_id=job.complaint_id, error=error)

    return Desk(
        intake=Intake(
            store,
            slack,
            watched_channels=settings.watched_channels,
            home_team_id=home_team_id,
            max_message_chars=settings.max_message_chars,
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
            follow_up_hours=settings.follow_up_hours,
        ),
        discard=Discard(store, cards),
        settle_sends=SettleSends(store, slack, cards),
        brief=BriefThread(slack, briefing, max_thread_chars=settings.max_history_chars),
        cards=cards,
        jobs=JobRunner(
            store,
            {"draft": run_draft, "regenerate": run_regenerate},
            worker_id=worker_id,
            concurrency=settings.concurrency,
            lease_s=settings.lease_s,
            give_up=give_up,
        ),
    )

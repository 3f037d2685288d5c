"""Everything a listener or the job worker needs, built once per process."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from app.domain.playbook import PlaybookSource
from app.runtime import Drafting
from app.settings import Settings
from app.slack.agents import AgentDirectory
from app.store import Store


@dataclass
class Services:
    settings: Settings
    client: AsyncWebClient
    store: Store
    drafting: Drafting
    agents: AgentDirectory
    worker_id: str
    bot_user_id: str | None = None
    team_id: str | None = None
    send_client: AsyncWebClient | None = None
    _background: set[asyncio.Task[Any]] = field(default_factory=set)

    def after_ack(self, work: Coroutine[Any, Any, Any]) -> None:
        """Run ``work`` after Slack has its answer, keeping a reference until it ends."""
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def drain(self) -> None:
        await asyncio.gather(*self._background, return_exceptions=True)

    @property
    def playbook(self) -> PlaybookSource:
        return self.drafting.playbook

    @property
    def review_channel(self) -> str:
        assert self.settings.review_channel, "serve requires TACTFUL_REVIEW_CHANNEL"
        return self.settings.review_channel

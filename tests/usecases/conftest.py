"""Use cases without HTTP: a real store on SQLite and ``SlackPort`` faked as a call log."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from app.domain.models import ThreadMessage
from app.store import Complaint, Draft, Store
from app.usecases import CardRef, SlackFailure
from app.usecases.cards import CardDesk
from tests.store.conftest import StoreFactory

REVIEW = "C_REVIEW"


@dataclass
class FakeSlackPort:
    """Records what the use cases asked of Slack; ``fail`` makes the next calls of a method fail."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    agents: set[str] = field(default_factory=set)
    thread: list[ThreadMessage] = field(default_factory=list)
    fail: dict[str, list[str]] = field(default_factory=dict)
    # Set to make post_reply fail *after* "posting" (a timeout once Slack had posted).
    post_then_fail: bool = False
    agent_lookup_s: float = 0.0
    members: dict[str, set[str]] = field(default_factory=dict)
    _posted: dict[int, str] = field(default_factory=dict)
    _ts: int = 0

    def _next_ts(self) -> str:
        self._ts += 1
        return f"1712000100.{self._ts:06d}"

    def _record(self, method: str, **args: Any) -> None:
        self.calls.append((method, args))
        failures = self.fail.get(method)
        if failures:
            raise SlackFailure(failures.pop(0))

    def called(self, method: str) -> list[dict[str, Any]]:
        return [args for name, args in self.calls if name == method]

    async def post_card(
        self, complaint: Complaint, draft: Draft, *, to_review: bool = False
    ) -> CardRef:
        private = bool(complaint.requested_by) and not to_review
        self._record("post_card", draft_id=draft.id, status=draft.status, private=private)
        channel = f"D_{complaint.requested_by}" if private else REVIEW
        return CardRef(channel=channel, ts=self._next_ts())

    async def retire_card(self, card: CardRef, *, note: str) -> None:
        self._record("retire_card", channel=card.channel, ts=card.ts, note=note)

    async def update_card(self, complaint: Complaint, draft: Draft) -> None:
        self._record("update_card", draft_id=draft.id, status=draft.status)

    async def post_reply(self, *, channel: str, thread_ts: str, text: str, draft_id: int) -> str:
        self._record("post_reply", channel=channel, thread_ts=thread_ts, text=text, draft_id=draft_id)
        ts = self._next_ts()
        self._posted[draft_id] = ts
        if self.post_then_fail:
            self.post_then_fail = False
            raise SlackFailure("timeout")
        return ts

    async def find_reply(
        self, *, channel: str, thread_ts: str, draft_id: int, since: datetime
    ) -> str | None:
        self._record("find_reply", draft_id=draft_id, since=since)
        return self._posted.get(draft_id)

    async def read_thread(
        self, *, channel: str, thread_ts: str, before_ts: str | None = None
    ) -> list[ThreadMessage]:
        self._record("read_thread", channel=channel, thread_ts=thread_ts)
        return [m for m in self.thread if before_ts is None or float(m.ts or 0) < float(before_ts)]

    async def permalink(
        self, *, channel: str, ts: str, thread_ts: str | None = None
    ) -> str | None:
        return self.known_permalink(channel=channel, ts=ts, thread_ts=thread_ts)

    def known_permalink(
        self, *, channel: str, ts: str, thread_ts: str | None = None
    ) -> str | None:
        return f"https://example.slack.com/archives/{channel}/p{ts.replace('.', '')}"

    async def is_agent(self, user_id: str, *, team_id: str | None) -> bool:
        await asyncio.sleep(self.agent_lookup_s)
        return user_id in self.agents

    async def is_member(self, *, channel: str, user_id: str) -> bool:
        return user_id in self.members.get(channel, set())

    async def remind_commitment(
        self, *, user_id: str, text: str, link: str | None, commitment_id: int
    ) -> None:
        self._record("remind_commitment", user_id=user_id, text=text, link=link,
                     commitment_id=commitment_id)


@pytest.fixture
def slack() -> FakeSlackPort:
    return FakeSlackPort(agents={"U_AGENT"})


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(f"sqlite:///{tmp_path / 'usecases.db'}")
    yield opened
    await opened.close()


@pytest.fixture
def cards(store: Store, slack: FakeSlackPort) -> CardDesk:
    return CardDesk(store, slack)


@pytest.fixture
def factory() -> StoreFactory:
    return StoreFactory()

"""What the listeners are handed: the use cases, read-only views, and after-ack tasks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from app.domain.ports import PlaybookFor
from app.store import Store
from app.usecases import Desk


@dataclass
class Background:
    """Work started after Slack has its answer, kept referenced until it ends."""

    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    def spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        await asyncio.gather(*self._tasks, return_exceptions=True)


@dataclass(frozen=True, kw_only=True)
class ListenerDeps:
    desk: Desk
    # Reads for what a listener shows (App Home figures, the edit modal's prefill).
    store: Store
    playbook: PlaybookFor
    review_channel: str
    bot_user_id: str | None
    background: Background
    # Who sees the report in App Home (TACTFUL_MANAGERS); empty: every agent.
    managers: frozenset[str] = frozenset()
    # App Home blocks naming playbook files the bot rejected (file:line), shown to managers.
    playbook_problems: Callable[[], list[dict[str, Any]]] = lambda: []

    def is_manager(self, user_id: str) -> bool:
        """Asked of agents only: the guard has already said who is one."""
        return not self.managers or user_id in self.managers

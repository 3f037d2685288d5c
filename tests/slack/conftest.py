"""A running tactful bot wired to a fake Slack Web API and a fake OpenAI server.

Requests go over real HTTP to the bot's own aiohttp server (``POST
/slack/events``), signed as Slack signs them; what the bot does is read back
from the fake Slack's call log and from the store.

For the hard rules: ``GatedOpenAI`` holds the draft call of a chosen message
(to catch a bot mid-draft).  The fakes, the workspace they are seeded with and
the databases are the shared ones (``tests/conftest.py``, ``tests/fakes``).
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from app.settings import Settings
from app.slack.pacing import SlackPacer
from app.slack.server import Bot, http_app
from app.store import Draft
from tests.fakes.openai_api import DRAFT, FIRST_DRAFT, FakeOpenAI, customer_text, schema_name
from tests.fakes.signing import block_actions_body, event_callback_body, message_event
from tests.fakes.slack_api import FakeSlack, SlackCall
from tests.fakes.support_workspace import (
    AGENT,
    AGENT_GROUP,
    COLLEAGUE,
    CUSTOMER,
    CUSTOMER_TEAM,
    GROUP_AGENT,
    OUTSIDER_LISTED,
    REPO,
    REVIEW,
    SUPPORT,
    bot_environment,
    workspace_seed,
)

__all__ = ["AGENT", "AGENT_GROUP", "COLLEAGUE", "CUSTOMER", "CUSTOMER_TEAM", "GROUP_AGENT",
           "OUTSIDER_LISTED", "REPO", "REVIEW", "SUPPORT"]  # re-exported for the stories

_ts = itertools.count(1)


def next_ts() -> str:
    return f"1764000000.{next(_ts):06d}"


def bot_settings(slack: FakeSlack, llm: FakeOpenAI, database_url: str, **extra: Any) -> Settings:
    values: dict[str, Any] = bot_environment(
        slack_url=slack.url,
        openai_url=llm.url,
        database_url=database_url,
        TACTFUL_LLM_RETRY_DEADLINE="2",
        TACTFUL_MAX_CONCURRENT_DRAFTS="8",
        # One card per complaint: other features' stories send alike complaints in a burst;
        # the incident stories turn grouping back on.
        TACTFUL_INCIDENT_MIN_SIZE="0",
    )
    values.update(extra)
    return Settings(**values)


@dataclass
class RunningBot:
    bot: Bot
    slack: FakeSlack
    llm: FakeOpenAI
    url: str
    session: aiohttp.ClientSession
    _events: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def store(self) -> Any:
        assert self.bot.store is not None
        return self.bot.store

    async def post(self, signed: tuple[bytes, dict[str, str]]) -> tuple[int, str]:
        body, headers = signed
        async with self.session.post(f"{self.url}/slack/events", data=body, headers=headers) as resp:
            return resp.status, await resp.text()

    async def customer_says(
        self, text: str, *, user: str = CUSTOMER, ts: str | None = None, thread_ts: str | None = None,
        channel: str = SUPPORT, user_team: str = CUSTOMER_TEAM, event_id: str | None = None,
        retry_num: int | None = None,
    ) -> tuple[str, int]:
        """A message appears in a channel (and in the fake's history) and Slack sends the event."""
        ts = ts or next_ts()
        self.slack.add_message(channel, ts, text, user=user, thread_ts=thread_ts)
        event = message_event(channel, text, user=user, ts=ts, thread_ts=thread_ts, user_team=user_team)
        status, _ = await self.post(
            event_callback_body(event, event_id=event_id or f"Ev{next(self._events):08d}", retry_num=retry_num)
        )
        return ts, status

    async def card_for(self, message_ts: str, *, status: str = "pending", timeout: float = 10.0) -> Draft:
        """Wait until the message's draft reaches ``status``; return it.

        A pending or failed draft is stored before its card is posted: wait for the card too.
        """
        return await wait_until(lambda: self._draft_of(message_ts, status), timeout=timeout)

    async def _draft_of(self, message_ts: str, status: str, source: str = "watch") -> Draft | None:
        complaint = await self.store.find_complaint(
            channel_id=SUPPORT, message_ts=message_ts, source=source
        )
        if complaint is None:
            return None
        draft = await self.store.latest_draft(complaint_id=complaint.id)
        shown = status not in ("pending", "failed") or draft is not None and draft.card_ts
        if draft is not None and draft.status == status and shown:
            return draft  # type: ignore[no-any-return]
        return None


async def wait_until(probe: Callable[[], Any], *, timeout: float = 10.0, every: float = 0.02) -> Any:
    """Poll ``probe`` (plain or async) until it returns something truthy; return that."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = probe()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(every)


def approve_click(draft: Draft, *, user: str = AGENT, user_team: str | None = None) -> tuple[bytes, dict[str, str]]:
    """A signed click on the card's "Approve & send" button."""
    assert draft.card_ts, "the draft has no card to click on"
    return block_actions_body(
        action_id="approve_send", value=str(draft.id), user_id=user, user_team_id=user_team,
        channel_id=REVIEW, message_ts=draft.card_ts,
    )


def replies_to_customers(slack: FakeSlack) -> list[SlackCall]:
    """Every message the bot posted into a watched channel (the customer sees these)."""
    return [c for c in slack.calls_to("chat.postMessage") if c.args.get("channel") == SUPPORT and c.ok]


def cards_posted(slack: FakeSlack) -> list[SlackCall]:
    """Every new message the bot posted into the review channel."""
    return [c for c in slack.calls_to("chat.postMessage") if c.args.get("channel") == REVIEW and c.ok]


def card_updates(slack: FakeSlack, card_ts: str) -> list[SlackCall]:
    return [c for c in slack.calls_to("chat.update") if c.args.get("ts") == card_ts and c.ok]


def ephemerals_to(slack: FakeSlack, user: str) -> list[str]:
    return [str(m.get("text", "")) for m in slack.ephemerals if m["user"] == user]


async def all_jobs_done(running: RunningBot) -> bool:
    """No drafting job is queued or running: nothing more will reach Slack on its own."""
    return await running.store.pending_job_count() == 0  # type: ignore[no-any-return]


async def finished_job(store: Any, job_id: int) -> Any:
    """The job once it is done, else None (for wait_until)."""
    job = await store.get_job(job_id=job_id)
    return job if job is not None and job.status == "done" else None


HOLD = "HOLD-DRAFT"  # a customer message with this word has its draft call held by GatedOpenAI


class GatedOpenAI(FakeOpenAI):
    """A FakeOpenAI that holds every draft call for a message containing ``HOLD`` until ``release()``.

    The drafts of other messages answer at once, so a story can catch a bot
    mid-draft (model still writing, no card yet) and do something to it: kill
    it, or have the customer write again.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.held = 0
        self._gate = asyncio.Event()

    def release(self) -> None:
        self._gate.set()

    async def wait_held(self, count: int = 1, *, timeout: float = 10.0) -> None:
        await wait_until(lambda: self.held >= count, timeout=timeout)

    async def hold(self, body: dict[str, Any]) -> None:
        if schema_name(body) in (FIRST_DRAFT, DRAFT) and HOLD in customer_text(body) and not self._gate.is_set():
            self.held += 1
            await self._gate.wait()
        await super().hold(body)


async def start_bot(
    settings: Settings, slack: FakeSlack, llm: FakeOpenAI, *, pacer: SlackPacer | None = None
) -> RunningBot:
    bot = Bot(settings) if pacer is None else Bot(settings, pacer=pacer)
    runner = web.AppRunner(http_app(bot), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    await bot.start()
    running = RunningBot(bot, slack, llm, f"http://127.0.0.1:{port}", aiohttp.ClientSession())
    running._runner = runner  # type: ignore[attr-defined]
    return running


async def stop_bot(running: RunningBot) -> None:
    await running.session.close()
    await running.bot.stop()
    await running._runner.cleanup()  # type: ignore[attr-defined]
    # A job cancelled at shutdown may leave an aiosqlite connection for the garbage
    # collector; collected here, while this test's loop still runs, it closes cleanly
    # instead of failing a later test with an unraisable-exception warning.
    gc.collect()


@pytest.fixture
def slack(slack: FakeSlack) -> FakeSlack:
    """The shared fake Slack, seeded with the support team's workspace."""
    slack.seed(workspace_seed())
    return slack


@pytest.fixture
async def running(slack: FakeSlack, llm: FakeOpenAI, database_url: str) -> AsyncIterator[RunningBot]:
    bot = await start_bot(bot_settings(slack, llm, database_url), slack, llm)
    try:
        yield bot
    finally:
        await stop_bot(bot)


@pytest.fixture
async def gated_llm() -> AsyncIterator[GatedOpenAI]:
    async with GatedOpenAI() as fake:
        try:
            yield fake
        finally:
            fake.release()  # a held request must not keep the server from stopping


@pytest.fixture
async def running_gated(
    slack: FakeSlack, gated_llm: GatedOpenAI, database_url: str
) -> AsyncIterator[RunningBot]:
    """A bot whose model holds the draft of any message containing ``HOLD``."""
    bot = await start_bot(bot_settings(slack, gated_llm, database_url), slack, gated_llm)
    try:
        yield bot
    finally:
        gated_llm.release()
        await stop_bot(bot)

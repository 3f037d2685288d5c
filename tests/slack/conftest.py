"""A running tactful bot wired to a fake Slack Web API and a fake OpenAI server.

Requests go over real HTTP to the bot's own aiohttp server (``POST
/slack/events``), signed as Slack signs them; what the bot does is read back
from the fake Slack's call log and from the store.

For the hard rules: ``GatedOpenAI`` holds the draft call of a chosen message
(to catch a bot mid-draft), and ``postgres_database_url`` gives a fresh
PostgreSQL database that several bot instances share.
"""

from __future__ import annotations

import asyncio
import getpass
import inspect
import itertools
import os
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import web
from sqlalchemy.engine import make_url

from app.settings import Settings
from app.slack.server import Bot, http_app
from app.store import Draft
from tests.fakes.llm_replies import DRAFT, customer_text, schema_name
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.signing import block_actions_body, event_callback_body, message_event
from tests.fakes.slack_api import FakeSlack, SlackCall

REPO = Path(__file__).resolve().parents[2]
SUPPORT = "C0SUPPORT"
REVIEW = "C0REVIEW"
AGENT = "UAGENT1"
GROUP_AGENT = "UAGENT2"
AGENT_GROUP = "S0AGENTS"
COLLEAGUE = "UCOLLEAGUE"  # internal, but not an agent
CUSTOMER = "UCUSTOMER"
CUSTOMER_TEAM = "T0CUSTOMER"
OUTSIDER_LISTED = "UEXTAGENT"  # listed in TACTFUL_AGENTS but from another workspace

_ts = itertools.count(1)


def next_ts() -> str:
    return f"1764000000.{next(_ts):06d}"


def bot_settings(slack: FakeSlack, llm: FakeOpenAI, database_url: str, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "test-signing-secret",
        "SLACK_API_URL": slack.url,
        "OPENAI_API_KEY": "sk-test-not-real",
        "OPENAI_BASE_URL": llm.url,
        "TACTFUL_MODEL": "fake-model",
        "TACTFUL_LLM_RETRY_DEADLINE": 2,
        "TACTFUL_DATABASE_URL": database_url,
        "TACTFUL_PROMPTS_DIR": str(REPO / "prompts"),
        "TACTFUL_SUPPORT_CHANNELS": SUPPORT,
        "TACTFUL_REVIEW_CHANNEL": REVIEW,
        "TACTFUL_AGENTS": f"{AGENT},{AGENT_GROUP},{OUTSIDER_LISTED}",
        "TACTFUL_MAX_CONCURRENT_DRAFTS": 8,
    }
    values.update(extra)
    return Settings(**values)


def seed_workspace(slack: FakeSlack) -> None:
    slack.add_user(AGENT, name="Ana Agent")
    slack.add_user(GROUP_AGENT, name="Gus Groupagent")
    slack.add_user(COLLEAGUE, name="Colin Colleague")
    slack.add_user(CUSTOMER, name="Casey Customer", team_id=CUSTOMER_TEAM, is_stranger=True)
    slack.add_user(OUTSIDER_LISTED, name="Ext Erne", team_id=CUSTOMER_TEAM, is_stranger=True)
    slack.add_usergroup(AGENT_GROUP, [GROUP_AGENT])
    slack.add_channel(SUPPORT, is_ext_shared=True, name="acme-support")
    slack.add_channel(REVIEW, name="support-review")


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
        assert self.bot.services is not None
        return self.bot.services.store

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
        """Wait until the message's draft reaches ``status``; return it."""
        return await wait_until(lambda: self._draft_of(message_ts, status), timeout=timeout)

    async def _draft_of(self, message_ts: str, status: str, source: str = "watch") -> Draft | None:
        complaint = await self.store.find_complaint(
            channel_id=SUPPORT, message_ts=message_ts, source=source
        )
        if complaint is None:
            return None
        draft = await self.store.latest_draft(complaint_id=complaint.id)
        if draft is not None and draft.status == status and (status != "pending" or draft.card_ts):
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

    Triage and the drafts of other messages answer at once, so a story can
    catch a bot mid-draft (card posted, model still writing) and do something
    to it: kill it, or have the customer write again.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.held = 0
        self._gate = asyncio.Event()

    def release(self) -> None:
        self._gate.set()

    async def wait_held(self, count: int = 1, *, timeout: float = 10.0) -> None:
        await wait_until(lambda: self.held >= count, timeout=timeout)

    async def _handle_chat(self, request: web.Request) -> web.Response:
        # aiohttp keeps the body it read, so the parent handler reads it again unchanged.
        body = await request.json()
        if schema_name(body) == DRAFT and HOLD in customer_text(body) and not self._gate.is_set():
            self.held += 1
            await self._gate.wait()
        return await super()._handle_chat(request)


async def start_bot(settings: Settings, slack: FakeSlack, llm: FakeOpenAI) -> RunningBot:
    bot = Bot(settings)
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


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        seed_workspace(fake)
        yield fake


@pytest.fixture
async def llm() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'tactful.db'}"


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


async def _postgres_admin() -> tuple[asyncpg.Connection | None, str, str]:
    """A connection to the maintenance database ``test`` (or TACTFUL_TEST_POSTGRES_URL's)."""
    explicit = os.environ.get("TACTFUL_TEST_POSTGRES_URL")
    if explicit:
        url = make_url(explicit)
        targets = [(url.host or "127.0.0.1", url.port or 5432, url.username or "postgres",
                    url.database or "test")]
    else:
        targets = [("127.0.0.1", 5432, user, "test")
                   for user in dict.fromkeys(["postgres", getpass.getuser()])]
    errors = []
    for host, port, user, database in targets:
        try:
            connection = await asyncpg.connect(host=host, port=port, user=user, database=database,
                                               timeout=5)
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
            errors.append(f"{user}@{host}:{port}/{database}: {exc!r}")
            continue
        return connection, f"{user}@{host}:{port}", ""
    return None, "", "; ".join(errors)


@pytest.fixture
async def postgres_database_url() -> AsyncIterator[str]:
    """A fresh, empty database ``tactful_e2e_<random>``, dropped WITH (FORCE) afterwards.

    PostgreSQL is expected at 127.0.0.1:5432 with trust auth, as for the store
    tests.  Without it the story is skipped locally and fails when ``CI`` is set.
    """
    admin, where, why = await _postgres_admin()
    if admin is None:
        message = f"PostgreSQL is not reachable for the multi-instance stories ({why})"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI must run them", pytrace=False)
        pytest.skip(message)
    name = f"tactful_e2e_{uuid.uuid4().hex[:12]}"
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield f"postgresql://{where}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()

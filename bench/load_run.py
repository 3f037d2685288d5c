"""The processes of one load run: the two fakes, the bot(s) under test, py-spy; and waiting on them.

``serve_load`` and ``burst_compare`` both build a run from these pieces:
``start_fakes`` (the traced fake Slack, optionally with Slack's rate limits,
and the fake OpenAI, each a subprocess seeded with the same workspace and
complaints), ``start_tactful`` (``tactful serve`` on a free port with the
settings of ``tests.fakes.support_workspace``), then ``wait_healthy``,
``wait_for_cards`` and ``read_fakes``.  ``LoadRun`` owns every child and
stops them all, bot first, with bounded waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench.processes import Child, child_env, free_port, start_child
from tests.fakes.scratch_postgres import PostgresServer
from tests.fakes.support_workspace import REVIEW, bot_environment, workspace_seed

REPO = Path(__file__).resolve().parents[1]
PY_SPY_RATE_HZ = 100
PROGRESS_WAIT_S = 1.0  # longest wait of one progress poll


@dataclass
class LoadRun:
    workdir: Path
    children: list[Child] = field(default_factory=list)
    postgres: PostgresServer | None = None  # the server of --postgres
    postgres_dbs: list[str] = field(default_factory=list)  # scratch databases, dropped at the end

    async def start(self, name: str, argv: list[str], **kw: Any) -> tuple[Child, str | None]:
        child, url = await start_child(
            name, argv, cwd=kw.pop("cwd", REPO), log_dir=self.workdir, **kw
        )
        self.children.append(child)
        return child, url

    async def stop_all(self) -> None:
        # The bot first, so it does not spend its shutdown failing to reach the fakes.
        for child in reversed(self.children):
            await child.stop()

    def kill_all(self) -> None:
        for child in self.children:
            child.kill_now()

    async def scratch_database(self) -> str:
        """A fresh store: a file SQLite database, or a new database on the PostgreSQL server."""
        if self.postgres is None:
            return f"sqlite:///{self.workdir / 'bench.db'}"
        name = await self.postgres.create_database("tactful_bench")
        self.postgres_dbs.append(name)
        return self.postgres.url(name)

    async def drop_databases(self) -> None:
        if self.postgres is not None:
            for name in self.postgres_dbs:
                await self.postgres.drop_database(name)
            self.postgres_dbs.clear()


@dataclass(frozen=True)
class Fakes:
    slack_url: str  # what SLACK_API_URL is set to (…/api/)
    llm_url: str  # what OPENAI_BASE_URL is set to (…/v1)

    @property
    def slack_base(self) -> str:
        return self.slack_url.removesuffix("/").removesuffix("/api")

    @property
    def llm_base(self) -> str:
        return self.llm_url.removesuffix("/v1")

    def bot_settings(self, database_url: str, **extra: str) -> dict[str, str]:
        # The burst compares per-complaint cards with the naive bot's, so incident grouping
        # is off (its default min size is 3) unless a caller asks for it.
        settings = {"TACTFUL_INCIDENT_MIN_SIZE": "0", **extra}
        return bot_environment(
            slack_url=self.slack_url, openai_url=self.llm_url, database_url=database_url, **settings
        )


async def start_fakes(
    run: LoadRun,
    texts: list[tuple[str, str]],
    *,
    llm_latency_s: float,
    rate_limits: bool = False,
    suffix: str = "",
) -> Fakes:
    """Fake Slack (seeded with the workspace and ``texts``) and fake OpenAI, each a subprocess."""
    python = sys.executable
    seed = run.workdir / f"seed{suffix}.json"
    seed.write_text(json.dumps(workspace_seed(texts)))
    env = child_env({})
    slack_argv = [python, "-m", "bench.traced_slack", "--review-channel", REVIEW, "--seed", str(seed)]
    if rate_limits:
        slack_argv.append("--rate-limits")
    _, slack_url = await run.start(f"fake-slack{suffix}", slack_argv, env=env, url_timeout_s=20)
    _, llm_url = await run.start(
        f"fake-openai{suffix}",
        [python, "-m", "tests.fakes.openai_api", "--print-url", "--latency", str(llm_latency_s)],
        env=env,
        url_timeout_s=20,
    )
    assert slack_url and llm_url
    return Fakes(slack_url, llm_url)


def tactful_argv() -> list[str]:
    tactful = Path(sys.executable).with_name("tactful")
    if tactful.exists():
        return [str(tactful)]
    return [sys.executable, "-c", "from app.cli import main; main()"]


async def start_tactful(
    run: LoadRun,
    settings: dict[str, str],
    *,
    name: str = "tactful-serve",
    cprofile_to: Path | None = None,
) -> tuple[Child, str]:
    """``tactful serve`` on a free port, in the run's directory; returns it and its base URL.

    With ``cprofile_to`` it runs under ``bench.profiled_serve``: cProfile of the
    main thread (about twice the CPU) from SIGUSR1 on (``begin_profile``), whose
    stats are written there when the bot exits on SIGTERM.
    """
    port = free_port()
    argv = tactful_argv()
    if cprofile_to is not None:
        # By path: the bot runs in the run's directory, where ``bench`` is not importable.
        script = Path(__file__).with_name("profiled_serve.py")
        argv = [sys.executable, str(script), str(cprofile_to)]
    bot, _ = await run.start(
        name,
        [*argv, "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=run.workdir,
        env=child_env(settings),
    )
    return bot, f"http://127.0.0.1:{port}"


def begin_profile(bot: Child) -> None:
    """Start the cProfile of a bot begun with ``cprofile_to`` (after start-up, before load)."""
    os.kill(bot.pid, signal.SIGUSR1)


async def get_json(session: aiohttp.ClientSession, url: str) -> Any:
    async with session.get(url, timeout=aiohttp.ClientTimeout(total=10)) as response:
        response.raise_for_status()
        return await response.json()


async def wait_healthy(
    session: aiohttp.ClientSession, url: str, bot: Child, timeout_s: float
) -> None:
    """Wait until GET /healthz answers 200; fail if the bot exits or takes too long."""
    began = time.monotonic()
    while time.monotonic() - began < timeout_s:
        if not bot.running:
            raise RuntimeError(
                f"{bot.name} exited with {bot.process.returncode}:\n{bot.log_tail()}"
            )
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with session.get(url, timeout=aiohttp.ClientTimeout(total=1)) as response:
                if response.status == 200:
                    return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"/healthz was not 200 within {timeout_s} s:\n{bot.log_tail()}")


async def wait_for_cards(
    session: aiohttp.ClientSession,
    fakes: Fakes,
    bots: list[Child],
    count: int,
    *,
    deadline: float,
    idle_s: float | None = None,
    sent: asyncio.Future[Any] | None = None,
) -> int:
    """Poll the fake Slack's cheap counter until ``count`` cards are complete.

    Also stops at ``deadline`` (monotonic), when a bot exits, or, with
    ``idle_s``, once every request is sent and answered (``sent`` done) and
    nothing reached the fake Slack for ``idle_s``: a bot that lost cards will
    not post them later.
    """
    # The fake answers as soon as the count is reached, or after up to a second: one
    # request a second while the cards come in, and no lag at the end.
    url = f"{fakes.slack_base}/_bench/progress?until={count}&wait={PROGRESS_WAIT_S}"
    complete, calls, last_change = 0, -1, time.monotonic()
    while time.monotonic() < deadline and all(bot.running for bot in bots):
        progress = await get_json(session, url)
        complete = int(progress["complete_cards"])
        if complete >= count:
            break
        now = time.monotonic()
        if progress["calls"] != calls:
            calls, last_change = progress["calls"], now
        finished_sending = sent is None or sent.done()
        if idle_s is not None and finished_sending and now - last_change > idle_s:
            break
    return complete


async def read_fakes(session: aiohttp.ClientSession, fakes: Fakes) -> dict[str, Any]:
    """What the fakes saw: cards and calls (Slack), calls and 429s per method, LLM requests."""
    return {
        "slack": await get_json(session, f"{fakes.slack_base}/_bench/summary"),
        "slack_stats": await get_json(session, f"{fakes.slack_base}/_fake/stats"),
        "llm": await get_json(session, f"{fakes.llm_base}/_fake/stats"),
    }


async def start_py_spy(
    run: LoadRun, bot: Child, *, duration_s: float, blocking: bool = False
) -> Child:
    """Sample the bot (all threads, idle left out) until stopped with SIGINT.

    Non-blocking sampling leaves the bot's speed alone but misses samples;
    ``blocking`` pauses the bot for each sample: slower run, truer shares.
    """
    py_spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if py_spy is None:
        raise RuntimeError("--py-spy needs py-spy: .venv/bin/pip install py-spy")
    spy, _ = await run.start(
        "py-spy",
        [
            py_spy,
            "record",
            "--pid",
            str(bot.pid),
            "--rate",
            str(PY_SPY_RATE_HZ),
            "--threads",
            *([] if blocking else ["--nonblocking"]),
            "--format",
            "raw",
            "--output",
            str(run.workdir / "py-spy.txt"),
            "--duration",
            str(int(duration_s)),
        ],
        env=child_env({}),
    )
    return spy

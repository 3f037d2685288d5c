"""200 customer complaints against a real ``tactful serve``: ack latency, time to cards, duplicates.

Everything runs on loopback in separate processes: the fake Slack
(``bench.traced_slack``, i.e. ``tests/fakes`` FakeSlack with card tracing) and
the fake OpenAI (``tests.fakes.openai_api``), the bot (``tactful serve`` with a
fresh SQLite store, or ``--postgres``) and this client.  The client sends signed ``event_callback`` message events from a
Slack Connect customer, evenly spread (each send its own task, so a slow ack
never delays the schedule), resends some as scripted Slack retries (same
event_id, ``X-Slack-Retry-Num: 1``) and, like Slack, redelivers any event
not answered 200 within 3 s.  Then it waits, bounded, until every
complaint's card is complete (shows "Approve & send") and reads back what
the fakes received, the bot's /metrics and the store.

Goals: ack p99 < 300 ms, all cards < 30 s after the first event, 0 duplicates
(and every answer 200, nothing lost, no job failed for good).  Exit status:
0 all met (or ``--no-fail``), 1 a goal missed, 2 the bench broke, 130
interrupted; the temp dir with logs and store is kept unless all was met.

    .venv/bin/python -m bench.serve_load --events 200 --over 5 --llm-latency 2
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from app.settings import Settings
from bench.load_report import (
    Figures,
    collect_postgres_store,
    collect_store,
    parse_metrics,
    print_report,
)
from bench.processes import (
    Child,
    MemorySampler,
    child_env,
    free_port,
    start_child,
    thread_cpu_seconds,
)
from bench.slack_load import complaint_texts, schedule, send_all
from tests.fakes.scratch_postgres import PostgresServer
from tests.fakes.support_workspace import REVIEW, bot_environment, workspace_seed

REPO = Path(__file__).resolve().parents[1]
PY_SPY_RATE_HZ = 100


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
                f"tactful serve exited with {bot.process.returncode}:\n{bot.log_tail()}"
            )
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with session.get(url, timeout=aiohttp.ClientTimeout(total=1)) as response:
                if response.status == 200:
                    return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"/healthz was not 200 within {timeout_s} s:\n{bot.log_tail()}")


async def wait_for_cards(
    session: aiohttp.ClientSession,
    slack_base: str,
    bot: Child,
    count: int,
    deadline: float,
) -> int:
    """Poll the fake Slack's cheap counter until ``count`` cards are complete or time is up."""
    complete = 0
    while time.monotonic() < deadline and bot.running:
        complete = (await get_json(session, f"{slack_base}/_bench/progress"))["complete_cards"]
        if complete >= count:
            break
        await asyncio.sleep(0.1)
    return int(complete)


@dataclass
class Run:
    options: argparse.Namespace
    workdir: Path
    children: list[Child] = field(default_factory=list)
    postgres: PostgresServer | None = None  # the server of --postgres
    postgres_db: str | None = None  # the scratch database on it, dropped at the end

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


async def bench(options: argparse.Namespace, run: Run) -> Figures:
    workdir, python = run.workdir, sys.executable
    texts = complaint_texts(options.events)
    seed = workdir / "seed.json"
    seed.write_text(json.dumps(workspace_seed(texts)))
    fake_env = child_env({})
    _, slack_url = await run.start(
        "fake-slack",
        [python, "-m", "bench.traced_slack", "--review-channel", REVIEW, "--seed", str(seed)],
        env=fake_env,
        url_timeout_s=20,
    )
    _, llm_url = await run.start(
        "fake-openai",
        [
            python,
            "-m",
            "tests.fakes.openai_api",
            "--print-url",
            "--latency",
            str(options.llm_latency),
        ],
        env=fake_env,
        url_timeout_s=20,
    )
    assert slack_url and llm_url
    if run.postgres is not None:
        run.postgres_db = await run.postgres.create_database("tactful_bench")
        database = run.postgres.url(run.postgres_db)
    else:
        database = f"sqlite:///{workdir / 'bench.db'}"
    slack_base = slack_url.removesuffix("/").removesuffix("/api")
    port = free_port()
    settings = bot_environment(
        slack_url=slack_url,
        openai_url=llm_url,
        database_url=database,
        TACTFUL_LOG_LEVEL="WARNING",
    )
    if options.concurrency is not None:
        settings["TACTFUL_MAX_CONCURRENT_DRAFTS"] = str(options.concurrency)
    tactful = Path(python).with_name("tactful")
    argv = (
        [str(tactful)] if tactful.exists() else [python, "-c", "from app.cli import main; main()"]
    )
    bot_url = f"http://127.0.0.1:{port}"
    spawned = time.monotonic()
    bot, _ = await run.start(
        "tactful-serve",
        [*argv, "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=workdir,
        env=child_env(settings),
    )
    memory = MemorySampler(bot.pid)
    memory.start()
    sends = schedule(
        texts, over_s=options.over, retries=options.retries, retry_delay_s=options.retry_delay
    )
    figures = Figures(
        events=options.events,
        over_s=options.over,
        llm_latency_s=options.llm_latency,
        concurrency=options.concurrency or _default_concurrency(),
        database="postgresql" if options.postgres else "sqlite",
    )
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=options.ack_timeout)
    async with (
        aiohttp.ClientSession(connector=connector, timeout=timeout) as session,
        aiohttp.ClientSession() as control,
    ):
        await wait_healthy(control, f"{bot_url}/healthz", bot, timeout_s=60)
        figures.ready_s = time.monotonic() - spawned
        spy = await start_py_spy(run, bot, options) if options.py_spy else None
        cpu_before = thread_cpu_seconds(bot.pid)
        first_send = time.monotonic()
        figures.acks = await send_all(session, f"{bot_url}/slack/events", sends)
        figures.first_send = min((a.sent_at for a in figures.acks), default=first_send)
        await wait_for_cards(
            control, slack_base, bot, options.events, deadline=first_send + options.deadline
        )
        cpu_after = thread_cpu_seconds(bot.pid)
        figures.run_seconds = time.monotonic() - first_send
        figures.cpu_main_s = cpu_after[0] - cpu_before[0]
        figures.cpu_other_s = cpu_after[1] - cpu_before[1]
        # Late duplicates (a job claimed twice, a retry drafted again) would show up now.
        await asyncio.sleep(options.settle)
        figures.slack = await get_json(control, f"{slack_base}/_bench/summary")
        figures.llm = await get_json(control, f"{llm_url.removesuffix('/v1')}/_fake/stats")
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with control.get(f"{bot_url}/metrics") as response:
                figures.metrics = parse_metrics(await response.text())
    if spy is not None:
        figures.spy_seconds = time.monotonic() - first_send
        await spy.stop(grace_s=15.0, signum=signal.SIGINT)  # py-spy writes its file on SIGINT
        figures.spy_file, figures.spy_rate_hz = workdir / "py-spy.txt", PY_SPY_RATE_HZ
    memory.sample()
    await memory.stop()
    figures.peak_rss_bytes, figures.rss_samples = memory.peak_bytes, memory.samples
    figures.bot_alive_at_end = bot.running
    await run.stop_all()
    if run.postgres is not None and run.postgres_db:
        figures.store = await collect_postgres_store(run.postgres, run.postgres_db)
    else:
        figures.store = collect_store(workdir / "bench.db")
    return figures


async def start_py_spy(run: Run, bot: Child, options: argparse.Namespace) -> Child:
    """Sample the bot (all threads, idle left out) until stopped with SIGINT."""
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
            # Without it py-spy pauses the bot for every sample, which is slower than the load.
            "--nonblocking",
            "--format",
            "raw",
            "--output",
            str(run.workdir / "py-spy.txt"),
            "--duration",
            str(int(options.deadline + options.settle + 30)),
        ],
        env=child_env({}),
    )
    return spy


def _default_concurrency() -> int:
    default = Settings.model_fields["max_concurrent_drafts"].default
    return int(default)


def parse_options(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200, help="complaints to send")
    parser.add_argument("--over", type=float, default=5.0, help="seconds to spread them over")
    parser.add_argument("--llm-latency", type=float, default=2.0, help="fake OpenAI latency, s")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="TACTFUL_MAX_CONCURRENT_DRAFTS (default: the app's default)",
    )
    parser.add_argument("--retries", type=int, default=20, help="events resent as Slack retries")
    parser.add_argument(
        "--retry-delay", type=float, default=1.0, help="seconds between an event and its retry"
    )
    parser.add_argument(
        "--deadline",
        type=float,
        default=90.0,
        help="give up waiting for cards this long after the first event",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=2.0,
        help="seconds to keep watching for late duplicates once all cards are in",
    )
    parser.add_argument(
        "--ack-timeout", type=float, default=10.0, help="client timeout per request"
    )
    parser.add_argument(
        "--py-spy",
        action="store_true",
        help="profile the bot with py-spy during the run and print where its "
        "main thread spends CPU (needs py-spy in the venv)",
    )
    parser.add_argument(
        "--postgres",
        metavar="SERVER_URL",
        help="store on a scratch database of this PostgreSQL server instead of SQLite, "
        "e.g. postgresql://postgres@127.0.0.1:5432",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs, bench.db)")
    parser.add_argument("--no-fail", action="store_true", help="exit 0 even if a goal is missed")
    options = parser.parse_args(argv)
    if options.events < 1 or options.over <= 0 or not 0 <= options.retries <= options.events:
        parser.error("need --events >= 1, --over > 0 and 0 <= --retries <= --events")
    return options


def main(argv: list[str] | None = None) -> None:
    options = parse_options(argv)
    # SIGTERM (and a SIGINT a non-interactive shell told us to ignore) stop the run
    # like Ctrl-C does: children stopped, logs kept.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    workdir = Path(tempfile.mkdtemp(prefix="tactful-bench-"))
    run = Run(options, workdir)
    if options.postgres:
        run.postgres = PostgresServer.from_url(options.postgres)
    code = 2  # the bench itself broke, whatever --no-fail says
    met = False
    try:
        figures = asyncio.run(_bench_then_stop(options, run))
        met = print_report(figures)
        code = 0 if met or options.no_fail else 1
    except KeyboardInterrupt:
        print("interrupted; the child processes were stopped", file=sys.stderr)
        code = 130
    except Exception as exc:  # report, keep the logs, and still clean up below
        print(f"bench failed: {type(exc).__name__}: {exc}", file=sys.stderr)
    finally:
        run.kill_all()  # anything a crash left behind
        if options.keep or code or not met:
            print(f"logs and store kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(code)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


async def _bench_then_stop(options: argparse.Namespace, run: Run) -> Figures:
    try:
        return await bench(options, run)
    finally:
        await run.stop_all()
        if run.postgres is not None and run.postgres_db and not options.keep:
            await run.postgres.drop_database(run.postgres_db)


if __name__ == "__main__":
    main()

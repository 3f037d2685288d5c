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
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from app.settings import Settings
from bench.load_report import (
    Figures,
    collect_postgres_store,
    collect_store,
    parse_metrics,
    print_report,
)
from bench.load_run import (
    PY_SPY_RATE_HZ,
    LoadRun,
    read_fakes,
    start_fakes,
    start_py_spy,
    start_tactful,
    wait_for_cards,
    wait_healthy,
)
from bench.processes import MemorySampler, thread_cpu_seconds
from bench.slack_load import complaint_texts, schedule, send_all
from tests.fakes.scratch_postgres import PostgresServer


async def bench(options: argparse.Namespace, run: LoadRun) -> Figures:
    texts = complaint_texts(options.events)
    fakes = await start_fakes(run, texts, llm_latency_s=options.llm_latency)
    database = await run.scratch_database()
    settings = fakes.bot_settings(database, TACTFUL_LOG_LEVEL="WARNING")
    if options.concurrency is not None:
        settings["TACTFUL_MAX_CONCURRENT_DRAFTS"] = str(options.concurrency)
    spawned = time.monotonic()
    bot, bot_url = await start_tactful(run, settings)
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
    async with aiohttp.ClientSession() as control:
        await wait_healthy(control, f"{bot_url}/healthz", bot, timeout_s=60)
        figures.ready_s = time.monotonic() - spawned
        spy = None
        if options.py_spy:
            spy = await start_py_spy(
                run, bot, duration_s=options.deadline + options.settle + 30
            )
        cpu_before = thread_cpu_seconds(bot.pid)
        first_send = time.monotonic()
        figures.acks = await send_all(
            f"{bot_url}/slack/events", sends, timeout_s=options.ack_timeout
        )
        figures.first_send = min((a.sent_at for a in figures.acks), default=first_send)
        await wait_for_cards(
            control, fakes, [bot], options.events, deadline=first_send + options.deadline
        )
        cpu_after = thread_cpu_seconds(bot.pid)
        figures.run_seconds = time.monotonic() - first_send
        figures.cpu_main_s = cpu_after[0] - cpu_before[0]
        figures.cpu_other_s = cpu_after[1] - cpu_before[1]
        # Late duplicates (a job claimed twice, a retry drafted again) would show up now.
        await asyncio.sleep(options.settle)
        seen = await read_fakes(control, fakes)
        figures.slack, figures.llm = seen["slack"], seen["llm"]
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with control.get(f"{bot_url}/metrics") as response:
                figures.metrics = parse_metrics(await response.text())
    if spy is not None:
        figures.spy_seconds = time.monotonic() - first_send
        await spy.stop(grace_s=15.0, signum=signal.SIGINT)  # py-spy writes its file on SIGINT
        figures.spy_file, figures.spy_rate_hz = run.workdir / "py-spy.txt", PY_SPY_RATE_HZ
    memory.sample()
    await memory.stop()
    figures.peak_rss_bytes, figures.rss_samples = memory.peak_bytes, memory.samples
    figures.bot_alive_at_end = bot.running
    await run.stop_all()
    if run.postgres is not None and run.postgres_dbs:
        figures.store = await collect_postgres_store(run.postgres, run.postgres_dbs[0])
    else:
        figures.store = collect_store(run.workdir / "bench.db")
    return figures


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
    run = LoadRun(workdir)
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


async def _bench_then_stop(options: argparse.Namespace, run: LoadRun) -> Figures:
    try:
        return await bench(options, run)
    finally:
        await run.stop_all()
        if not options.keep:
            await run.drop_databases()


if __name__ == "__main__":
    main()

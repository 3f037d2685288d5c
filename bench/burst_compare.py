"""The naive bot and tactful on the same burst of complaints, against the same fakes: one table.

Each contender gets fresh fakes of the same kind (``load_run.start_fakes``:
the traced fake Slack, with Slack's published rate limits under
``--rate-limits``, and the fake OpenAI with ``--llm-latency``), then the same
burst of signed complaint events (``slack_load``), redelivered the way Slack
does when an ack takes over 3 s.  The naive bot is ``bench.naive_bot`` (one
LLM call and one post inside the listener); tactful is ``tactful serve`` on a
fresh SQLite store (or ``--postgres``).  The run waits until every card shows
"Approve & send", or nothing has reached Slack for ``--idle`` seconds after
the last ack (a bot that lost cards will not post them later), or
``--deadline``.  CPU is the bot process's (all threads) from the first event
to then; RSS is sampled every 100 ms.

``--instances 2 --postgres URL`` measures scale-out instead: tactful alone,
one instance and then two on one PostgreSQL database, events spread over
them like a load balancer would, and complaints per second of each.  It
also shows where the cores went in the same window (``cpu_ledger``): each
bot, the PostgreSQL server, each fake, this bench, the kernel and other jobs,
and the best ratio those costs allow on this machine.

    .venv/bin/python -m bench.burst_compare --complaints 200 --over 5 --llm-latency 4
    .venv/bin/python -m bench.burst_compare --complaints 60 --over 5 --llm-latency 2 --rate-limits
    .venv/bin/python -m bench.burst_compare --instances 2 --postgres postgresql://postgres@127.0.0.1:5432 \\
        --llm-latency 0 [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from bench.burst_report import Outcome, print_comparison_rounds, print_scale_out_rounds
from bench.cpu_ledger import CpuLedger, postgres_activity
from bench.load_run import (
    PY_SPY_RATE_HZ,
    LoadRun,
    begin_profile,
    read_fakes,
    start_fakes,
    start_py_spy,
    start_tactful,
    wait_for_cards,
    wait_healthy,
)
from bench.processes import Child, MemorySampler, child_env, free_port, thread_cpu_seconds
from bench.slack_load import complaint_texts, schedule, send_all
from tests.fakes.scratch_postgres import PostgresServer


async def run_contender(
    name: str, options: argparse.Namespace, run: LoadRun, *, instances: int = 1
) -> Outcome:
    """One bot (or ``instances`` of tactful) through the burst; the figures read back."""
    texts = complaint_texts(options.complaints)
    fakes = await start_fakes(
        run, texts, llm_latency_s=options.llm_latency, rate_limits=options.rate_limits
    )
    bots: list[tuple[Child, str]] = []
    if name == "naive":
        settings = fakes.bot_settings("sqlite://")
        port = free_port()
        bot, _ = await run.start(
            "naive-bot",
            [sys.executable, "-m", "bench.naive_bot", "--port", str(port)],
            env=child_env(settings),
        )
        bots.append((bot, f"http://127.0.0.1:{port}"))
    else:
        database = await run.scratch_database()
        settings = fakes.bot_settings(database, TACTFUL_LOG_LEVEL="WARNING")
        if options.concurrency is not None:
            settings["TACTFUL_MAX_CONCURRENT_DRAFTS"] = str(options.concurrency)
        profile = run.workdir / "tactful.cprofile" if options.cprofile else None
        for n in range(instances):
            bots.append(
                await start_tactful(
                    run, settings, name=f"tactful-serve-{n + 1}", cprofile_to=profile
                )
            )
            profile = None  # one profile is enough
    sends = schedule(texts, over_s=options.over, retries=0, retry_delay_s=1.0)
    outcome = Outcome(name, options.complaints, instances=instances)
    async with aiohttp.ClientSession() as control:
        for bot, url in bots:
            await wait_healthy(control, f"{url}/healthz", bot, timeout_s=60)
        # Scale-out reports no memory; sampling it (a scan of /proc) is CPU the bots lack.
        every_s = 0.1 if options.instances == 1 else 1.0
        memories = [MemorySampler(bot.pid, every_s=every_s) for bot, _ in bots]
        for memory in memories:
            memory.start()
        spy = None
        if options.py_spy and name == "tactful":
            spy = await start_py_spy(
                run,
                bots[0][0],
                duration_s=options.deadline + 30,
                blocking=options.py_spy == "blocking",
            )
        ledger = CpuLedger(
            {
                **{bot.name: bot.pid for bot, _ in bots},
                **{c.name: c.pid for c in run.children if c.name.startswith("fake-")},
                "load generator (this bench)": os.getpid(),
            },
            databases=run.postgres_dbs,
        )
        if options.cprofile and name == "tactful":
            begin_profile(bots[0][0])
        activity_before = await _postgres_activity(run)
        cpu_before = [thread_cpu_seconds(bot.pid) for bot, _ in bots]
        ledger.start()
        outcome.first_send = time.monotonic()
        urls = [f"{url}/slack/events" for _, url in bots]
        sending = asyncio.ensure_future(send_all(urls, sends, timeout_s=options.ack_timeout))
        await wait_for_cards(
            control,
            fakes,
            [bot for bot, _ in bots],
            options.complaints,
            deadline=outcome.first_send + options.deadline,
            idle_s=options.idle,
            sent=sending,
        )
        outcome.waited_s = time.monotonic() - outcome.first_send
        outcome.cpu_use = await ledger.stop()
        for (bot, _), (main_before, other_before) in zip(bots, cpu_before, strict=True):
            main, other = thread_cpu_seconds(bot.pid)
            outcome.cpu_main_s += main - main_before
            outcome.cpu_s += main + other - main_before - other_before
        outcome.acks = await sending
        seen = await read_fakes(control, fakes)
        outcome.slack, outcome.slack_stats, outcome.llm = (
            seen["slack"], seen["slack_stats"], seen["llm"]
        )
    if spy is not None:
        outcome.spy_seconds = time.monotonic() - outcome.first_send
        await spy.stop(grace_s=15.0, signum=signal.SIGINT)  # py-spy writes its file on SIGINT
        outcome.spy_file, outcome.spy_rate_hz = run.workdir / "py-spy.txt", PY_SPY_RATE_HZ
    for memory in memories:
        memory.sample()
        await memory.stop()
    outcome.peak_rss_bytes = max(m.peak_bytes for m in memories)
    outcome.ready_rss_bytes = max(m.first_bytes for m in memories)
    outcome.alive = all(bot.running for bot, _ in bots)
    await run.stop_all()
    run.children.clear()
    # Read once the bots are gone: an idle backend may hold its counts back for 10 s.
    if activity_before is not None and (after := await _postgres_activity(run)) is not None:
        outcome.postgres_sessions = after[0] - activity_before[0]
        outcome.postgres_transactions = after[1] - activity_before[1]
    if name == "tactful" and options.cprofile:
        outcome.cprofile_file = run.workdir / "tactful.cprofile"
    return outcome


async def _postgres_activity(run: LoadRun) -> tuple[int, int] | None:
    if run.postgres is None or not run.postgres_dbs:
        return None
    return await postgres_activity(run.postgres, run.postgres_dbs)


async def compare(options: argparse.Namespace, workdir: Path) -> list[Outcome]:
    """The contenders one after the other, each in a directory and with fakes of its own."""
    outcomes = []
    plan = (
        [("tactful", 1), ("tactful", options.instances)] * options.repeat
        if options.instances > 1
        else [("naive", 1), ("tactful", 1)] * options.repeat
    )
    for step, (name, instances) in enumerate(plan):
        subdir = workdir / f"{step + 1}-{name}-{instances}"
        subdir.mkdir()
        run = LoadRun(subdir)
        if options.postgres:
            run.postgres = PostgresServer.from_url(options.postgres)
        try:
            outcomes.append(await run_contender(name, options, run, instances=instances))
        finally:
            await run.stop_all()
            run.kill_all()
            await run.drop_databases()
    return outcomes


def parse_options(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--complaints", type=int, default=200, help="complaint events to send")
    parser.add_argument("--over", type=float, default=5.0, help="seconds to spread them over")
    parser.add_argument("--llm-latency", type=float, default=4.0, help="fake OpenAI latency, s")
    parser.add_argument(
        "--rate-limits", action="store_true", help="the fake Slack enforces Slack's rate limits"
    )
    parser.add_argument(
        "--instances",
        type=int,
        default=1,
        help="scale-out: tactful with 1 and then this many instances (needs --postgres)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run the naive bot and tactful (or, with --instances, 1 and N instances) this "
        "many times, alternating, for median ratios: one run's CPU figure is noisy",
    )
    parser.add_argument(
        "--postgres",
        metavar="SERVER_URL",
        help="tactful's store on a scratch database of this server, e.g. "
        "postgresql://postgres@127.0.0.1:5432 (default: SQLite)",
    )
    parser.add_argument(
        "--concurrency", type=int, default=None, help="TACTFUL_MAX_CONCURRENT_DRAFTS"
    )
    parser.add_argument("--deadline", type=float, default=180.0, help="give up after, s")
    parser.add_argument(
        "--idle", type=float, default=10.0, help="stop once Slack saw nothing for this long, s"
    )
    parser.add_argument("--ack-timeout", type=float, default=15.0, help="client timeout, s")
    parser.add_argument(
        "--py-spy",
        nargs="?",
        const="nonblocking",
        choices=("nonblocking", "blocking"),
        help="profile tactful with py-spy (pip install py-spy); blocking: truer shares, "
        "slower bot",
    )
    parser.add_argument(
        "--cprofile",
        action="store_true",
        help="profile tactful's burst (not its start-up) with cProfile and print its top "
        "functions (doubles its CPU figures)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs, stores)")
    parser.add_argument("--no-fail", action="store_true", help="exit 0 even if a goal is missed")
    options = parser.parse_args(argv)
    if options.complaints < 1 or options.over <= 0:
        parser.error("need --complaints >= 1 and --over > 0")
    if options.instances > 1 and not options.postgres:
        parser.error("--instances needs --postgres: instances share one store")
    if options.repeat < 1:
        parser.error("--repeat is at least 1")
    return options


def main(argv: list[str] | None = None) -> None:
    options = parse_options(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    workdir = Path(tempfile.mkdtemp(prefix="tactful-burst-"))
    code = 2  # the bench itself broke, whatever --no-fail says
    try:
        outcomes = asyncio.run(compare(options, workdir))
        if options.instances > 1:
            met = print_scale_out_rounds(outcomes, options)
        else:
            met = print_comparison_rounds(outcomes, options)
        code = 0 if met or options.no_fail else 1
    except KeyboardInterrupt:
        print("interrupted; the child processes were stopped", file=sys.stderr)
        code = 130
    except Exception as exc:  # report, keep the logs
        print(f"bench failed: {type(exc).__name__}: {exc}", file=sys.stderr)
    finally:
        if options.keep or code:
            print(f"logs kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(code)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    main()

"""The figures of one ``serve_load`` run, read back from the fakes, /metrics and the store.

Kept apart from the orchestration so the arithmetic (percentiles, who got
how many cards, what counts as a duplicate) reads on its own.
"""

from __future__ import annotations

import re
import sqlite3
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.slack_load import Ack
from bench.stacks import summarize
from tests.fakes.scratch_postgres import PostgresServer
from tests.fakes.support_workspace import REVIEW, SUPPORT

ACK_P99_GOAL_S = 0.300
ALL_CARDS_GOAL_S = 30.0
_METRIC_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?)\s+([-+0-9.eEinfNa]+)$")


@dataclass
class Figures:
    events: int
    over_s: float
    llm_latency_s: float
    concurrency: int
    database: str = "sqlite"
    ready_s: float = 0.0
    acks: list[Ack] = field(default_factory=list)
    first_send: float = 0.0  # time.monotonic() of the first delivery
    slack: dict[str, Any] = field(default_factory=dict)
    llm: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    peak_rss_bytes: int = 0
    rss_samples: int = 0
    bot_alive_at_end: bool = True
    store: dict[str, Any] = field(default_factory=dict)
    spy_file: Path | None = None
    spy_seconds: float = 0.0
    spy_rate_hz: int = 100
    cpu_main_s: float = 0.0  # CPU the bot's main thread (the event loop) used during the run
    cpu_other_s: float = 0.0  # CPU of its other threads (aiosqlite's connection threads)
    run_seconds: float = 0.0


def parse_metrics(text: str) -> dict[str, float]:
    """Prometheus text format -> ``{'name{labels}': value}`` (comments skipped)."""
    found: dict[str, float] = {}
    for line in text.splitlines():
        match = _METRIC_LINE.match(line.strip())
        if match:
            found[match.group(1)] = float(match.group(2))
    return found


# What the store holds after the run, the same questions on SQLite and PostgreSQL.
_COUNT_COMPLAINTS = "SELECT count(*) FROM complaints"
_COUNT_CLAIMED_AGAIN = "SELECT count(*) FROM jobs WHERE attempts > 1"
_JOBS_BY_STATUS = "SELECT status, count(*) FROM jobs GROUP BY status"
_DRAFTS_BY_STATUS = "SELECT status, count(*) FROM drafts GROUP BY status"


def collect_store(path: Path) -> dict[str, Any]:
    """What the bot's SQLite store holds after the run (read-only, after the bot stopped)."""
    if not path.exists():
        return {}
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return {
            "complaints": int(db.execute(_COUNT_COMPLAINTS).fetchone()[0]),
            "jobs": dict(db.execute(_JOBS_BY_STATUS).fetchall()),
            "jobs_claimed_again": int(db.execute(_COUNT_CLAIMED_AGAIN).fetchone()[0]),
            "drafts": dict(db.execute(_DRAFTS_BY_STATUS).fetchall()),
        }


async def collect_postgres_store(server: PostgresServer, database: str) -> dict[str, Any]:
    """The same figures as ``collect_store``, from the run's PostgreSQL database."""
    db = await server.connect(database)
    try:
        return {
            "complaints": await db.fetchval(_COUNT_COMPLAINTS),
            "jobs": {status: n for status, n in await db.fetch(_JOBS_BY_STATUS)},
            "jobs_claimed_again": await db.fetchval(_COUNT_CLAIMED_AGAIN),
            "drafts": {status: n for status, n in await db.fetch(_DRAFTS_BY_STATUS)},
        }
    finally:
        await db.close()


def percentile(values: list[float], pct: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


@dataclass
class CardCounts:
    complete_times: list[float]  # monotonic, sorted
    cards_per_complaint: Counter[str]
    review_posts: int
    incomplete_cards: int


def card_counts(slack: dict[str, Any]) -> CardCounts:
    """Cards in the review channel, traced to the complaint (bench tag) each one answers."""
    review = [c for c in slack.get("cards", []) if c["channel"] == REVIEW]
    per_complaint: Counter[str] = Counter(tag for card in review for tag in card["tags"])
    complete = sorted(c["complete_at"] for c in review if c["complete_at"] is not None)
    posts = sum(c["posts"] for c in review)
    return CardCounts(complete, per_complaint, posts, len(review) - len(complete))


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def print_report(f: Figures) -> bool:
    """Print the figures and the goals; True when every goal is met."""
    latencies = sorted(a.latency_s for a in f.acks)
    statuses = Counter(a.status for a in f.acks)
    retries = [a for a in f.acks if a.kind == "retry"]
    redeliveries = [a for a in f.acks if a.kind == "redelivery"]
    cards = card_counts(f.slack)
    multi = sum(1 for n in cards.cards_per_complaint.values() if n > 1)
    jobs = sum(f.store.get("jobs", {}).values())
    retry_work = max(0, f.store.get("complaints", 0) - f.events) + max(0, jobs - f.events)
    extra_cards = max(0, cards.review_posts - f.events)
    duplicates = multi + retry_work + extra_cards
    all_in = len(cards.complete_times) >= f.events
    to_all = cards.complete_times[f.events - 1] - f.first_send if all_in else None
    to_first = cards.complete_times[0] - f.first_send if cards.complete_times else None
    p99 = percentile(latencies, 99) if latencies else float("inf")
    m = f.metrics
    ack_mean = m.get("tactful_slack_ack_seconds_sum", 0) / max(
        1, m.get("tactful_slack_ack_seconds_count", 0)
    )
    deduped = m.get('tactful_messages_total{outcome="duplicate_delivery"}', 0)
    seen_twice = m.get('tactful_messages_total{outcome="duplicate_message"}', 0)

    print(
        f"\ntactful serve under load: {f.events} complaint events over {f.over_s:g} s "
        f"+ {len(retries)} scripted Slack retries; fake LLM latency {f.llm_latency_s:g} s; "
        f"TACTFUL_MAX_CONCURRENT_DRAFTS={f.concurrency}; store on {f.database}"
    )
    print(f"ready in {f.ready_s:.2f} s (spawn -> GET /healthz 200)")
    rows: list[tuple[str, str, str, str]] = []

    def row(what: str, value: str, goal: str = "", ok: bool | None = None) -> None:
        rows.append((what, value, goal, "" if ok is None else ("PASS" if ok else "MISS")))

    if latencies:
        row(
            "ack latency p50 / p95",
            f"{_ms(percentile(latencies, 50))} / {_ms(percentile(latencies, 95))}",
        )
        row("ack latency p99", _ms(p99), f"< {_ms(ACK_P99_GOAL_S)}", p99 < ACK_P99_GOAL_S)
        row("ack latency max", _ms(latencies[-1]))
        resent = [a.latency_s for a in (*retries, *redeliveries)]
        row("ack latency of retries and redeliveries, max", _ms(max(resent, default=0)))
    row("server-side ack mean (/metrics)", _ms(ack_mean))
    status_text = ", ".join(f"{s} x{n}" for s, n in sorted(statuses.items()))
    row("HTTP statuses", status_text, "all 200", set(statuses) <= {"200"})
    row("first event -> first complete card", "-" if to_first is None else f"{to_first:.1f} s")
    row(
        f"first event -> card #{f.events} complete",
        "not all" if to_all is None else f"{to_all:.1f} s",
        f"< {ALL_CARDS_GOAL_S:g} s",
        to_all is not None and to_all < ALL_CARDS_GOAL_S,
    )
    row("complete cards", f"{len(cards.complete_times)} / {f.events}")
    row("cards posted to the review channel", str(cards.review_posts), str(f.events))
    row("complaints with more than one card", str(multi))
    row("cards never completed", str(cards.incomplete_cards))
    row(
        "retries deduped on event_id / on message",
        f"{deduped:.0f} / {seen_twice:.0f}",
        f"{len(retries) + len(redeliveries)} sent",
    )
    row("Slack-style redeliveries (no 200 within 3 s)", str(len(redeliveries)))
    row("retries that created work", str(retry_work))
    outcomes = {
        key.split('"')[1]: value
        for key, value in m.items()
        if key.startswith("tactful_messages_total{")
    }
    row(
        "intake outcomes (/metrics)", ", ".join(f"{k} {v:.0f}" for k, v in sorted(outcomes.items()))
    )
    row("duplicates", str(duplicates), "0", duplicates == 0)
    lost = f.events - f.store.get("complaints", 0)
    row("complaints lost (answered, never stored)", str(lost), "0", lost == 0)
    failed_jobs = f.store.get("jobs", {}).get("failed", 0)
    row("drafting jobs failed for good", str(failed_jobs), "0", failed_jobs == 0)
    by_schema = ", ".join(f"{k} {v}" for k, v in sorted(f.llm.get("by_schema", {}).items()))
    row("LLM requests", f"{f.llm.get('requests', 0)} ({by_schema})", f"<= {f.events}")
    row("LLM max in flight", str(f.llm.get("max_in_flight", 0)))
    row(
        "bot CPU: event-loop thread / other threads",
        f"{f.cpu_main_s:.1f} s / {max(0.0, f.cpu_other_s):.1f} s in {f.run_seconds:.1f} s "
        f"({f.cpu_main_s / max(f.run_seconds, 1e-9):.0%} of one core on the loop)",
    )
    row(
        "peak RSS, tactful serve + children",
        f"{f.peak_rss_bytes / 2**20:.0f} MB ({f.rss_samples} samples)",
    )
    posts = f.slack.get("posts_by_channel", {})
    row("posts in the customers' channel", str(posts.get(SUPPORT, 0)), "0")
    row("Slack calls", ", ".join(f"{k} {v}" for k, v in sorted(f.slack.get("methods", {}).items())))
    if f.slack.get("failures"):
        row("Slack calls refused", str(f.slack["failures"]))
    s = f.store
    row(
        "store",
        f"complaints {s.get('complaints')}, jobs {s.get('jobs')}, "
        f"claimed again {s.get('jobs_claimed_again')}, drafts {s.get('drafts')}",
    )
    if not f.bot_alive_at_end:
        row("tactful serve", "EXITED before the end of the run", "running", False)

    goal_rows = [r for r in rows if r[2]]
    widths = [max(len(r[0]) for r in rows), max(len(r[1]) for r in goal_rows)]
    for what, value, goal, verdict in rows:
        line = f"  {what.ljust(widths[0])}  {value.ljust(widths[1]) if goal else value}"
        print(f"{line}  {goal.ljust(12)}  {verdict}".rstrip() if goal else line)
    print_ack_timeline(f.acks, f.first_send)
    if f.spy_file is not None and f.spy_file.exists():
        summarize(f.spy_file).print(rate_hz=f.spy_rate_hz, seconds=f.spy_seconds)
    return all(r[3] != "MISS" for r in rows)


def print_ack_timeline(acks: list[Ack], first_send: float) -> None:
    """Ack latency by second of the schedule, and the slowest requests: where the tail sits."""
    if not acks:
        return
    print("  ack latency by second of the schedule:")
    for second, values in sorted(group_by_second(acks, first_send).items()):
        values.sort()
        print(
            f"    +{second}s  {len(values):4d} requests  p50 {_ms(percentile(values, 50)):>7}"
            f"  max {_ms(values[-1]):>7}"
        )
    slow = ", ".join(
        f"#{a.index + 1}{'' if a.kind == 'event' else ' ' + a.kind} at +{a.sent_at - first_send:.2f}s "
        f"{_ms(a.latency_s)}"
        for a in sorted(acks, key=lambda a: a.latency_s, reverse=True)[:5]
    )
    print(f"  slowest requests: {slow}")


def group_by_second(acks: list[Ack], first_send: float) -> dict[int, list[float]]:
    """Ack latencies by the second of the schedule they were sent in."""
    grouped: defaultdict[int, list[float]] = defaultdict(list)
    for ack in acks:
        grouped[int(ack.sent_at - first_send)].append(ack.latency_s)
    return dict(grouped)

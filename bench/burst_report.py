"""The figures of ``burst_compare``: per contender, then the table with ratios and issue 8's goals.

A complaint's card latency runs from its first delivery to the moment its
card in the review channel first shows "Approve & send" (both on the
system-wide monotonic clock).  Cards are traced to complaints by the
``bench-0042`` tag the card quotes.
"""

from __future__ import annotations

import argparse
import io
import pstats
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.cpu_ledger import CpuUse
from bench.load_report import percentile
from bench.slack_load import Ack
from bench.stacks import summarize
from tests.fakes.support_workspace import REVIEW

# Issue 8's goals for tactful.
CARD_P50_OVER_LLM_S = 0.5
ALL_CARDS_VS_NAIVE = 1.1
LLM_CALLS_PER_COMPLAINT = 1.0
CPU_VS_NAIVE = 1.0
RATELIMITED_SHARE = 0.05
PEAK_RSS_MB = 120
SCALE_OUT_RATIO = 1.7
NOISY_SHARE = 0.1  # other jobs' share of the cores past which a scale-out ratio is noise


@dataclass
class Outcome:
    name: str
    complaints: int
    instances: int = 1
    acks: list[Ack] = field(default_factory=list)
    first_send: float = 0.0
    waited_s: float = 0.0
    slack: dict[str, Any] = field(default_factory=dict)  # traced_slack's /_bench/summary
    slack_stats: dict[str, Any] = field(default_factory=dict)  # FakeSlack's /_fake/stats
    llm: dict[str, Any] = field(default_factory=dict)  # FakeOpenAI's /_fake/stats
    cpu_s: float = 0.0  # the whole process: event loop and threads (aiosqlite's)
    cpu_main_s: float = 0.0  # the event loop's thread
    cpu_use: CpuUse = field(default_factory=CpuUse)  # every process of the run, same window
    postgres_sessions: int | None = None  # connections the bots opened during the burst
    postgres_transactions: int | None = None
    peak_rss_bytes: int = 0
    ready_rss_bytes: int = 0  # before the first complaint
    alive: bool = True
    spy_file: Path | None = None
    spy_seconds: float = 0.0
    spy_rate_hz: int = 100
    cprofile_file: Path | None = None

    def first_sends(self) -> dict[int, float]:
        return {a.index: a.sent_at for a in self.acks if a.kind == "event"}

    def card_times(self) -> dict[int, float]:
        """Complaint index -> when its first complete card appeared in the review channel."""
        done: dict[int, float] = {}
        for card in self.slack.get("cards", []):
            if card["channel"] != REVIEW or card["complete_at"] is None:
                continue
            for tag in card["tags"]:
                index = int(tag.removeprefix("bench-")) - 1
                done[index] = min(done.get(index, card["complete_at"]), card["complete_at"])
        return done

    def card_latencies(self) -> list[float]:
        sent = self.first_sends()
        return sorted(at - sent[i] for i, at in self.card_times().items() if i in sent)

    def all_cards_s(self) -> float | None:
        times = self.card_times()
        if len(times) < self.complaints:
            return None
        return max(times.values()) - self.first_send

    def ack_p99(self) -> float:
        latencies = [a.latency_s for a in self.acks if a.kind == "event"]
        return percentile(sorted(latencies), 99) if latencies else float("inf")

    def redeliveries(self) -> int:
        return sum(1 for a in self.acks if a.kind == "redelivery")

    def duplicates(self) -> int:
        """Complaints with more than one card, and review-channel posts beyond one each."""
        review = [c for c in self.slack.get("cards", []) if c["channel"] == REVIEW]
        per: Counter[str] = Counter(tag for card in review for tag in card["tags"])
        extra_posts = max(0, int(sum(c["posts"] for c in review)) - self.complaints)
        return sum(1 for n in per.values() if n > 1) + extra_posts

    @property
    def llm_requests(self) -> int:
        return int(self.llm.get("requests", 0))

    @property
    def slack_calls(self) -> int:
        return int(self.slack_stats.get("total_calls", 0))

    @property
    def slack_429s(self) -> int:
        return int(self.slack_stats.get("total_ratelimited", 0))


def _s(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def _ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.2f}x"


Row = tuple[str, str, str, str, str, str]


def _print_rows(rows: list[Row]) -> bool:
    header: Row = ("", "naive", "tactful", "tactful/naive", "goal (tactful)", "")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(6)]
    for row in [header, *rows]:
        print("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return all(r[5] != "MISS" for r in rows)


def _verdict(ok: bool | None) -> str:
    return "" if ok is None else ("PASS" if ok else "MISS")


def _cpu_ratio(naive: Outcome, tactful: Outcome) -> float:
    return tactful.cpu_s / max(naive.cpu_s, 1e-9)


def print_comparison_rounds(outcomes: list[Outcome], options: argparse.Namespace) -> bool:
    """The table of the round with the median CPU ratio, then every round's CPU and memory.

    The two bots run one after the other, and on a shared VM the CPU one burst
    costs drifts by a fifth between runs; the median of alternating rounds is
    what a goal on the ratio can be judged by.
    """
    rounds = [(outcomes[i], outcomes[i + 1]) for i in range(0, len(outcomes), 2)]
    if len(rounds) == 1:
        return print_comparison(*rounds[0], options)
    by_cpu = sorted(rounds, key=lambda pair: _cpu_ratio(*pair))
    median_round = by_cpu[(len(by_cpu) - 1) // 2]
    print(f"\n{len(rounds)} rounds; the table is the round with the median CPU ratio")
    met = print_comparison(*median_round, options)
    print("\n  round  naive CPU  tactful CPU  tactful/naive  peak RSS naive / tactful")
    for number, (naive, tactful) in enumerate(rounds, 1):
        print(
            f"  {number:>5}  {naive.cpu_s:>7.2f} s  {tactful.cpu_s:>9.2f} s"
            f"  {_cpu_ratio(naive, tactful):>12.2f}x"
            f"  {naive.peak_rss_bytes / 2**20:>8.0f} / {tactful.peak_rss_bytes / 2**20:.0f} MB"
        )
    ratios = [_cpu_ratio(naive, tactful) for naive, tactful in rounds]
    total = sum(t.cpu_s for _, t in rounds) / max(sum(n.cpu_s for n, _ in rounds), 1e-9)
    print(
        f"  CPU tactful/naive: median {statistics.median(ratios):.2f}x, "
        f"all rounds together {total:.2f}x (goal <= {CPU_VS_NAIVE:g}x)"
    )
    return met


def print_comparison(naive: Outcome, tactful: Outcome, options: argparse.Namespace) -> bool:
    """The issue's table, naive beside tactful, with ratios and goals; True when all are met."""
    n = options.complaints
    limits = "Slack rate limits enforced" if options.rate_limits else "no Slack rate limits"
    print(
        f"\nburst: {n} complaints over {options.over:g} s, fake LLM {options.llm_latency:g} s, "
        f"{limits}; one run each, same machine"
    )
    rows: list[Row] = []
    nl, tl = naive.card_latencies(), tactful.card_latencies()

    def p(values: list[float], pct: int) -> float | None:
        return percentile(values, pct) if values else None

    rows.append((
        "ack p99", _s(naive.ack_p99()), _s(tactful.ack_p99()),
        _ratio(tactful.ack_p99(), naive.ack_p99()), "", "",
    ))
    rows.append((
        "Slack redeliveries (no ack in 3 s)", str(naive.redeliveries()),
        str(tactful.redeliveries()), "", "", "",
    ))
    goal_p50 = options.llm_latency + CARD_P50_OVER_LLM_S
    t50 = p(tl, 50)
    rows.append((
        "card latency p50 / p95",
        f"{_s(p(nl, 50))} / {_s(p(nl, 95))}",
        f"{_s(t50)} / {_s(p(tl, 95))}",
        f"{_ratio(t50, p(nl, 50))} / {_ratio(p(tl, 95), p(nl, 95))}",
        "" if options.rate_limits else f"p50 <= {goal_p50:g} s",
        "" if options.rate_limits else _verdict(t50 is not None and t50 <= goal_p50),
    ))
    n_all, t_all = naive.all_cards_s(), tactful.all_cards_s()
    all_ok = t_all is not None and (n_all is None or t_all <= ALL_CARDS_VS_NAIVE * n_all)
    rows.append((
        f"time until all {n} cards", _s(n_all) if n_all else "never", _s(t_all) if t_all else "never",
        _ratio(t_all, n_all), f"<= {ALL_CARDS_VS_NAIVE:g}x naive", _verdict(all_ok),
    ))
    rows.append((
        "cards complete", f"{len(naive.card_times())}/{n}", f"{len(tactful.card_times())}/{n}",
        "", f"{n}/{n}", _verdict(len(tactful.card_times()) == n),
    ))
    rows.append((
        "duplicate cards", str(naive.duplicates()), str(tactful.duplicates()), "", "0",
        _verdict(tactful.duplicates() == 0),
    ))
    rows.append((
        "LLM requests", str(naive.llm_requests), str(tactful.llm_requests),
        _ratio(tactful.llm_requests, naive.llm_requests), "", "",
    ))
    rows.append((
        "LLM requests in flight, max", str(naive.llm.get("max_in_flight", 0)),
        str(tactful.llm.get("max_in_flight", 0)), "", "", "",
    ))
    per = tactful.llm_requests / n
    rows.append((
        "LLM calls per complaint", f"{naive.llm_requests / n:.2f}", f"{per:.2f}", "",
        f"<= {LLM_CALLS_PER_COMPLAINT:g}", _verdict(per <= LLM_CALLS_PER_COMPLAINT),
    ))
    share = tactful.slack_429s / max(1, tactful.slack_calls)
    rows.append((
        "Slack calls / answered 429",
        f"{naive.slack_calls} / {naive.slack_429s}",
        f"{tactful.slack_calls} / {tactful.slack_429s} ({share:.0%})",
        _ratio(tactful.slack_calls, naive.slack_calls),
        f"429 < {RATELIMITED_SHARE:.0%}" if options.rate_limits else "",
        _verdict(share < RATELIMITED_SHARE) if options.rate_limits else "",
    ))
    rows.append((
        "Slack calls per card",
        f"{naive.slack_calls / max(1, len(naive.card_times())):.1f}",
        f"{tactful.slack_calls / max(1, len(tactful.card_times())):.1f}",
        "", "", "",
    ))
    rows.append((
        "bot CPU during the burst", f"{naive.cpu_s:.1f} s", f"{tactful.cpu_s:.1f} s",
        _ratio(tactful.cpu_s, naive.cpu_s), f"<= {CPU_VS_NAIVE:g}x naive",
        _verdict(tactful.cpu_s <= CPU_VS_NAIVE * naive.cpu_s),
    ))
    rows.append((
        "  of which the event loop's thread", f"{naive.cpu_main_s:.1f} s",
        f"{tactful.cpu_main_s:.1f} s", _ratio(tactful.cpu_main_s, naive.cpu_main_s), "", "",
    ))
    rss_n, rss_t = naive.peak_rss_bytes / 2**20, tactful.peak_rss_bytes / 2**20
    rows.append((
        "peak RSS", f"{rss_n:.0f} MB", f"{rss_t:.0f} MB", _ratio(rss_t, rss_n),
        f"<= {PEAK_RSS_MB} MB", _verdict(rss_t <= PEAK_RSS_MB),
    ))
    rows.append((
        "  of which held before the burst", f"{naive.ready_rss_bytes / 2**20:.0f} MB",
        f"{tactful.ready_rss_bytes / 2**20:.0f} MB", "", "", "",
    ))
    rows.append((
        "waited (until all cards or idle)", _s(naive.waited_s), _s(tactful.waited_s), "", "", "",
    ))
    for o in (naive, tactful):
        if not o.alive:
            rows.append((f"{o.name} bot", "EXITED", "", "", "running", "MISS"))
    met = _print_rows(rows)
    print(f"  tactful's Slack calls: {_methods(tactful)}")
    print(f"  naive's Slack calls:   {_methods(naive)}")
    if tactful.spy_file is not None and tactful.spy_file.exists():
        summarize(tactful.spy_file).print(rate_hz=tactful.spy_rate_hz, seconds=tactful.spy_seconds)
    if tactful.cprofile_file is not None:
        print_cprofile(tactful.cprofile_file)
    return met


def print_cprofile(path: Path, *, top: int = 25) -> None:
    """tactful's main thread under cProfile, by own time and by time including callees."""
    if not path.exists():
        print(f"  no cProfile output at {path} (did the bot exit on SIGTERM?)")
        return
    for order in ("tottime", "cumulative"):
        print(f"  cProfile of tactful serve's main thread, top {top} by {order}:")
        out = io.StringIO()
        pstats.Stats(str(path), stream=out).strip_dirs().sort_stats(order).print_stats(top)
        lines = out.getvalue().splitlines()
        start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
        for line in lines[start:]:
            if line.strip():
                print(f"    {line}")


def _methods(o: Outcome) -> str:
    calls = o.slack_stats.get("calls", {})
    refused = o.slack_stats.get("ratelimited", {})
    return ", ".join(
        f"{m} {n}" + (f" ({refused[m]} x 429)" if refused.get(m) else "")
        for m, n in sorted(calls.items())
    )


def print_scale_out_rounds(outcomes: list[Outcome], options: argparse.Namespace) -> bool:
    """Each round of 1 vs N instances, then the median ratio when there were several."""
    rounds = [outcomes[i : i + 2] for i in range(0, len(outcomes), 2)]
    met = [print_scale_out(one, many, options) for one, many in rounds]
    if len(rounds) == 1:
        return met[0]
    ratios = sorted(r for one, many in rounds if (r := _scale_ratio(one, many)) is not None)
    median = statistics.median(ratios) if len(ratios) == len(rounds) else None
    clean = all(many.duplicates() == 0 for _, many in rounds)
    ok = median is not None and median >= SCALE_OUT_RATIO and clean
    shown = ", ".join(f"{r:.2f}x" for r in ratios)
    print(
        f"\n{len(rounds)} rounds: {rounds[0][1].instances} / 1 instances {shown}; median "
        f"{'-' if median is None else f'{median:.2f}x'} (goal >= {SCALE_OUT_RATIO:g}x, "
        f"0 duplicates in every round)  {_verdict(ok)}"
    )
    return ok


def _scale_ratio(one: Outcome, many: Outcome) -> float | None:
    took_one, took_many = one.all_cards_s(), many.all_cards_s()
    return took_one / took_many if took_one and took_many else None


def print_scale_out(one: Outcome, many: Outcome, options: argparse.Namespace) -> bool:
    """Complaints per second of one instance and of N on one PostgreSQL store."""
    print(
        f"\nscale-out: {options.complaints} complaints over {options.over:g} s, fake LLM "
        f"{options.llm_latency:g} s, store on PostgreSQL; 1 vs {many.instances} instances"
    )
    for o in (one, many):
        took = o.all_cards_s()
        rate = options.complaints / took if took else None
        print(
            f"  {o.instances} instance(s): all cards in {_s(took) if took else 'never'}"
            f" ({len(o.card_times())}/{o.complaints}), "
            f"{rate or 0:.1f} complaints/s, CPU {o.cpu_s:.1f} s, duplicates {o.duplicates()}, "
            f"LLM requests {o.llm_requests}, ack p99 {_s(o.ack_p99())}"
        )
    ratio = _scale_ratio(one, many)
    ok = ratio is not None and ratio >= SCALE_OUT_RATIO and many.duplicates() == 0
    shown = "-" if ratio is None else f"{ratio:.2f}x"
    print(f"  {many.instances} / 1 instances: {shown} (goal >= {SCALE_OUT_RATIO:g}x, 0 duplicates)"
          f"  {_verdict(ok)}")
    print_cpu_use([one, many])
    return ok


def _split(o: Outcome) -> tuple[float, float]:
    """CPU seconds per complaint of the bots (b) and of everything else the run needs (h)."""
    bots = sum(s for name, s in o.cpu_use.processes.items() if name.startswith("tactful"))
    rest = sum(o.cpu_use.processes.values()) - bots + (o.cpu_use.postgres_s or 0.0)
    return bots / o.complaints, rest / o.complaints


def _exited(use: CpuUse) -> float | None:
    if use.postgres_s is None:
        return None
    return use.postgres_s - use.postgres_ours_s - use.postgres_others_s


def _bound(b: float, h: float, instances: int, cores: int) -> str:
    """The best rate ratio: one bot is bound by its core; all share the cores with the rest."""
    if not b:
        return "-"
    one = min(1 / b, cores / (b + h))
    return f"{min(instances / b, cores / (b + h)) / one:.2f}x"


def print_cpu_use(outcomes: list[Outcome]) -> None:
    """Where the cores went in each run, and the best N-vs-1 ratio those costs allow.

    b is the bots' CPU per complaint, h everything else the run needs per
    complaint (PostgreSQL, the fakes, the load generator; not the kernel's
    interrupts nor other jobs).  One bot is bound by its one core (1/b per
    second), N bots by the cores they share with the rest (cores/(b+h)).
    """
    names = sorted(
        dict.fromkeys(n for o in outcomes for n in o.cpu_use.processes),
        key=lambda n: not n.startswith("tactful"),
    )
    heads = [f"{o.instances} instance(s)" for o in outcomes]
    rows: list[list[str]] = [["CPU from the first event until all cards", *heads]]

    def cell(o: Outcome, seconds: float | None) -> str:
        if seconds is None:
            return "-"
        return f"{seconds:.1f} s  {seconds / o.complaints * 1000:5.1f} ms/complaint"

    for name in names:
        rows.append([name, *(cell(o, o.cpu_use.processes.get(name)) for o in outcomes)])
    rows.append(["PostgreSQL server", *(cell(o, o.cpu_use.postgres_s) for o in outcomes)])
    rows.append([
        "  of which this run's backends",
        *(cell(o, o.cpu_use.postgres_ours_s if o.cpu_use.postgres_s is not None else None)
          for o in outcomes),
    ])
    rows.append([
        "  of which its other processes (WAL, other databases)",
        *(cell(o, o.cpu_use.postgres_others_s if o.cpu_use.postgres_s is not None else None)
          for o in outcomes),
    ])
    rows.append([
        "  of which backends that exited between samples",
        *(cell(o, _exited(o.cpu_use)) for o in outcomes),
    ])
    rows.append([
        "PostgreSQL sessions opened / transactions",
        *(f"{o.postgres_sessions} / {o.postgres_transactions} "
          f"({o.postgres_transactions / o.complaints:.1f} per complaint)"
          if o.postgres_transactions is not None else "-" for o in outcomes),
    ])
    rows.append([
        "kernel interrupts (loopback network)",
        *(cell(o, o.cpu_use.machine_irq_s) for o in outcomes),
    ])
    rows.append(["rest of the machine (other jobs)", *(cell(o, o.cpu_use.others_s) for o in outcomes)])
    rows.append([
        "  busiest of them (of those still running)",
        *(", ".join(f"{c} {t:.1f} s" for c, t in o.cpu_use.top_others) or "-" for o in outcomes),
    ])
    rows.append([
        "machine busy / available (wall x cores)",
        *(f"{o.cpu_use.machine_busy_s:.1f} / {o.cpu_use.wall_s * o.cpu_use.cores:.1f} s"
          for o in outcomes),
    ])
    rows.append([
        "complaints per bot CPU-second",
        *(f"{1 / b:.0f}" if b else "-" for b, _ in map(_split, outcomes)),
    ])
    rows.append([
        "b (bots) / h (PostgreSQL, fakes, load), ms per complaint",
        *(f"{b * 1000:.1f} / {h * 1000:.1f}" for b, h in map(_split, outcomes)),
    ])
    cores, n = outcomes[0].cpu_use.cores, outcomes[-1].instances
    rows.append([
        f"bound {n} vs 1 on {cores} cores ({cores}b/(b+h) when b >= h)",
        *(_bound(b, h, n, cores) for b, h in map(_split, outcomes)),
    ])
    one_b, many_b = _split(outcomes[0])[0], _split(outcomes[-1])[0]
    if one_b and many_b:
        rows.append([
            f"{n} vs 1 with a core per bot and the rest elsewhere: {n} x b(1)/b({n})",
            "",
            f"{n * one_b / many_b:.2f}x",
        ])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    shares = [o.cpu_use.others_s / max(1e-9, o.cpu_use.wall_s * o.cpu_use.cores) for o in outcomes]
    if max(shares) > NOISY_SHARE:
        print(
            "  WARNING: other jobs took "
            + " and ".join(f"{share:.0%}" for share in shares)
            + " of the cores in these runs: the ratio says more about them than about tactful"
        )

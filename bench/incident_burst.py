"""Issue 12's benchmark: 200 complaints in 5 s, three underlying problems plus 20 unrelated ones.

The real bot (``app.slack.server.Bot`` behind its aiohttp app) runs in this
process against the ``tests/fakes`` FakeSlack with Slack's published rate
limits (429 + Retry-After) and FakeOpenAI with a 2 s model; signed Slack
events arrive evenly over 5 s, each complaint from another customer in its
own thread.  Each problem's 60 complaints are worded differently (phrases
drawn at random from per-problem pools, so no two are alike).

Printed: cards posted (goal: 3 incident cards + 20 single cards), pairwise
grouping precision and recall against the labels, the time until every
customer is covered by a card (an incident card counting its customers, or
their own card), and the LLM and embedding calls.

    .venv/bin/python -m bench.incident_burst                # embeddings endpoint
    .venv/bin/python -m bench.incident_burst --lexical      # the no-network fallback
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from app.settings import Settings
from app.slack.server import Bot, http_app
from tests.fakes.openai_api import FakeOpenAI, schema_name
from tests.fakes.signing import event_callback_body, message_event
from tests.fakes.slack_api import FakeSlack
from tests.fakes.support_workspace import (
    CUSTOMER_TEAM,
    REVIEW,
    SUPPORT,
    bot_environment,
    workspace_seed,
)

# Each problem: openings, the problem in other words, and endings, combined at random.
PROBLEMS: dict[str, tuple[list[str], list[str], list[str]]] = {
    "carrier_north": (
        ["Hi,", "Hello.", "Seriously?", "Help!", "Ugh.", ""],
        ["my parcel is stuck at the carrier's north depot",
         "the carrier tracking has been frozen at the north depot for days",
         "my parcel hasn't moved from the north depot, carrier says delayed",
         "carrier delay at the north depot, my parcel is still not delivered",
         "tracking shows my parcel stuck in the north depot with the carrier",
         "the north depot of your carrier is sitting on my parcel"],
        ["Where is it?", "This is ridiculous.", "I needed it yesterday.",
         "Nobody answers the phone.", "Please sort it out.", ""],
    ),
    "double_charge": (
        ["Hi,", "Hello.", "Excuse me,", "Not happy.", ""],
        ["I was charged twice for my subscription this month",
         "two identical subscription payments came out of my card",
         "my card shows the subscription charged twice",
         "you took my subscription payment twice from my card",
         "double charge on my card for the monthly subscription",
         "the subscription was billed twice to my card today"],
        ["Refund one please.", "I want my money back.", "Fix this now.",
         "That's theft.", "Can you check?", ""],
    ),
    "app_login": (
        ["Hi,", "Hey.", "Since this morning", "Help,", ""],
        ["I can't log in to the app since the update, password rejected",
         "the app login fails after the update and says my password is wrong",
         "after updating the app my correct password keeps being rejected at login",
         "login to the app is broken since the update, password refused",
         "the updated app won't let me log in, password rejected every time",
         "since the app update the login page rejects my password"],
        ["I reset it twice already.", "I can't work like this.", "What happened?",
         "Please fix it.", "This is urgent.", ""],
    ),
}
UNRELATED = [
    "The zipper on the jacket I bought broke after one wear.",
    "The hotel room I booked had no hot water all weekend.",
    "Your shop sent me the blue mug instead of the green one I ordered.",
    "The technician never showed up for the washing machine repair.",
    "My gift voucher code is refused at checkout although I bought it last week.",
    "The sofa cushion arrived torn and stained.",
    "Your driver left the fridge in the rain outside my door.",
    "The concert tickets I bought show the wrong seats.",
    "My loyalty points vanished from my account overnight.",
    "The restaurant table we reserved was given to someone else.",
    "The printer ink cartridges you sent are the wrong model.",
    "The yoga class was cancelled with no notice and no refund.",
    "Your support chat closed on me three times today.",
    "The lamp flickers constantly since I plugged it in.",
    "The rental car had a flat tyre when I picked it up.",
    "My newspaper has not been delivered for a week.",
    "The headphones only play sound in the left ear.",
    "The bakery cake for my daughter's party had the wrong name on it.",
    "My flight meal was missing although I pre-ordered it.",
    "The garden hose connector leaks at every joint.",
]
PER_PROBLEM = 60
DURATION_S = 5.0
_HEADER = re.compile(r"\*(\d+) customers\*")


@dataclass(frozen=True)
class Sent:
    ts: str
    label: str
    text: str


def complaints(seed: int) -> list[Sent]:
    rnd = random.Random(seed)
    out: list[tuple[str, str]] = []
    for label, (openings, middles, endings) in PROBLEMS.items():
        seen: set[str] = set()
        while len(seen) < PER_PROBLEM:
            text = " ".join(p for p in (rnd.choice(openings), rnd.choice(middles) + ".",
                                        rnd.choice(endings)) if p)
            order = f" Order #{rnd.randint(40000, 99999)}." if rnd.random() < 0.6 else ""
            seen.add(text + order)
        out += [(label, text) for text in sorted(seen)]
    out += [(f"unrelated_{n}", text) for n, text in enumerate(UNRELATED)]
    rnd.shuffle(out)
    return [Sent(f"1765000000.{n + 1:06d}", label, text) for n, (label, text) in enumerate(out)]


def coverage(slack: FakeSlack) -> int:
    """Customers a card in the review channel covers now (incident cards count theirs)."""
    covered = 0
    for message in slack.messages[REVIEW]:
        text = str(message.get("text", ""))
        blocks = json.dumps(message.get("blocks") or [])
        if text.startswith("Incident #"):
            found = _HEADER.search(blocks)
            covered += int(found.group(1)) if found else 0
        elif "approve_send" in blocks or "retry_draft" in blocks:
            covered += 1
    return covered


def pairwise(labels: list[str], groups: list[int | None]) -> tuple[float, float]:
    """Precision and recall of "these two are the same incident" over every pair."""
    true_pos = false_pos = false_neg = 0
    for (la, ga), (lb, gb) in itertools.combinations(zip(labels, groups, strict=True), 2):
        same_label = la == lb and not la.startswith("unrelated")
        same_group = ga is not None and ga == gb
        true_pos += same_label and same_group
        false_pos += same_group and not same_label
        false_neg += same_label and not same_group
    precision = true_pos / (true_pos + false_pos) if true_pos + false_pos else 1.0
    recall = true_pos / (true_pos + false_neg) if true_pos + false_neg else 1.0
    return precision, recall


async def run(options: argparse.Namespace) -> dict[str, Any]:
    sent = complaints(options.seed)
    workdir = Path(tempfile.mkdtemp(prefix="incident-burst-"))
    async with FakeSlack(rate_limits=True) as slack, FakeOpenAI(latency_s=options.llm_s) as llm:
        slack.seed(workspace_seed())
        extra = {
            "TACTFUL_INCIDENT_MIN_SIZE": str(options.min_size),
            "TACTFUL_MAX_CONCURRENT_DRAFTS": "64",
            "TACTFUL_EMBEDDING_MODEL": "" if options.lexical else "fake-embed",
        }
        if options.threshold:
            extra["TACTFUL_INCIDENT_THRESHOLD"] = str(options.threshold)
        settings = Settings(**bot_environment(  # type: ignore[arg-type]
            slack_url=slack.url, openai_url=llm.url,
            database_url=f"sqlite:///{workdir / 'bench.db'}", **extra,
        ))
        bot = Bot(settings)
        runner = web.AppRunner(http_app(bot), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        await bot.start()
        try:
            async with aiohttp.ClientSession() as http:
                figures = await _burst(bot, slack, llm, http, f"http://127.0.0.1:{port}", sent,
                                       options)
        finally:
            await bot.stop()
            await runner.cleanup()
    return figures


async def _burst(
    bot: Bot, slack: FakeSlack, llm: FakeOpenAI, http: aiohttp.ClientSession, url: str,
    sent: list[Sent], options: argparse.Namespace,
) -> dict[str, Any]:
    started = time.monotonic()
    acks: list[int] = []

    async def deliver(number: int, item: Sent) -> None:
        await asyncio.sleep(number * DURATION_S / len(sent))
        user = f"UB{number:04d}"
        slack.add_message(SUPPORT, item.ts, item.text, user=user)
        event = message_event(SUPPORT, item.text, user=user, ts=item.ts, user_team=CUSTOMER_TEAM)
        body, headers = event_callback_body(event, event_id=f"EvB{number:06d}")
        async with http.post(f"{url}/slack/events", data=body, headers=headers) as response:
            acks.append(response.status)

    await asyncio.gather(*(deliver(n, item) for n, item in enumerate(sent)))
    covered_at = None
    timeline: list[tuple[float, int]] = []
    deadline = started + options.timeout_s
    while time.monotonic() < deadline:
        now = coverage(slack)
        if not timeline or timeline[-1][1] != now:
            timeline.append((round(time.monotonic() - started, 1), now))
        if now >= len(sent) and covered_at is None:
            covered_at = time.monotonic() - started
        assert bot.store is not None
        if covered_at is not None and await bot.store.pending_job_count() == 0:
            break
        await asyncio.sleep(0.2)
    assert bot.store is not None
    store = bot.store
    groups: list[int | None] = []
    for item in sent:
        complaint = await store.find_complaint(channel_id=SUPPORT, message_ts=item.ts,
                                               source="watch")
        groups.append(await store.incident_of(complaint_id=complaint.id) if complaint else None)
    precision, recall = pairwise([s.label for s in sent], groups)
    review = slack.messages[REVIEW]
    incident_cards = [m for m in review if str(m.get("text", "")).startswith("Incident #")]
    single = [m for m in review if not str(m.get("text", "")).startswith("Incident #")]
    live_single = [m for m in single if "approve_send" in json.dumps(m.get("blocks") or [])]
    posts = [c for c in slack.calls_to("chat.postMessage") if c.args.get("channel") == REVIEW]
    return {
        "complaints": len(sent),
        "acks_200": sum(status == 200 for status in acks),
        "incident_cards": len(incident_cards),
        "single_cards_live": len(live_single),
        "single_cards_retired": len(single) - len(live_single),
        "review_posts": sum(c.ok for c in posts),
        "review_429s": sum(c.status == 429 for c in posts),
        "card_updates": sum(c.ok for c in slack.calls_to("chat.update")),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "seconds_until_all_covered": round(covered_at, 1) if covered_at else None,
        "llm_calls": sum(schema_name(r) is not None for r in llm.requests),
        "embedding_calls": len(llm.embedding_requests),
        "similarity": "lexical" if options.lexical else "embeddings (fake-embed)",
        "last_review_post_s": round(max((c.at for c in posts if c.ok), default=started) - started, 1),
        "coverage_timeline": timeline[:: max(1, len(timeline) // 12)],
    }


def parse_options(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lexical", action="store_true", help="no embedding model: the fallback")
    parser.add_argument("--llm-s", type=float, default=2.0, help="fake model latency")
    parser.add_argument("--min-size", type=int, default=3)
    parser.add_argument("--threshold", type=float, default=0.0, help="0: the default")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--timeout-s", type=float, default=240.0)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    figures = asyncio.run(run(parse_options(argv)))
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()

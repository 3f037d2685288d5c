"""``FakeSlack`` for the load bench: it follows each card the bot posts, cheaply enough to poll.

``serve_load`` runs the fakes in processes of their own so that the bench
client, the fakes and the bot never share an event loop (which would distort
ack latency).  ``GET /_fake/calls`` serialises every recorded call, blocks
included, which is too heavy to poll under load, so ``TracedSlack`` keeps
running tallies as calls arrive and adds:

* ``GET /_bench/progress``: suggestion cards complete so far, at once or (with
  ``?until=N&wait=S``) once N are complete or S seconds have passed, so the
  bench polls rarely and still sees the last card at once;
* ``GET /_bench/summary``: every card (when it was posted, when it first showed
  the Approve button, the bench tags it carried) and per-method counts.

The fake OpenAI needs nothing of the kind: ``tests.fakes.openai_api`` serves
``GET /_fake/stats`` itself.  Times are ``time.monotonic()`` of the fake's
process; on Linux that is the system-wide CLOCK_MONOTONIC, so the bench can
compare them with its own.

Usage (the URL is the first stdout line)::

    python -m bench.traced_slack --review-channel C0REVIEW --seed seed.json [--rate-limits]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.fakes.http_server import run_standalone
from tests.fakes.slack_api import FakeSlack, SlackCall

# The bench puts "bench-0042" in each complaint; the fake model's triage summary echoes it.
BENCH_TAG = re.compile(r"bench-\d{4,}")
APPROVE_ACTION = "approve_send"
_CARD_METHODS = ("chat.postMessage", "chat.update")
MAX_PROGRESS_WAIT_S = 10.0


def has_action(blocks: Any, action_id: str) -> bool:
    """True when some actions block of ``blocks`` holds an element with ``action_id``."""
    if not isinstance(blocks, list):
        return False
    for block in blocks:
        if isinstance(block, dict) and block.get("type") == "actions":
            for element in block.get("elements") or []:
                if isinstance(element, dict) and element.get("action_id") == action_id:
                    return True
    return False


@dataclass
class CardTrace:
    """One message the bot posted to a channel, followed through its updates."""

    channel: str
    ts: str
    posted_at: float | None = None
    posts: int = 0
    updates: int = 0
    complete_at: float | None = None
    tags: set[str] = field(default_factory=set)

    def as_json(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "ts": self.ts,
            "posted_at": self.posted_at,
            "posts": self.posts,
            "updates": self.updates,
            "complete_at": self.complete_at,
            "tags": sorted(self.tags),
        }


class TracedSlack(FakeSlack):
    """FakeSlack that traces every card to the review channel as the calls arrive."""

    def __init__(self, *, review_channel: str, **options: Any) -> None:
        super().__init__(**options)
        self.review_channel = review_channel
        self.cards: dict[tuple[str, str], CardTrace] = {}
        self.complete_cards = 0
        self.failures: Counter[str] = Counter()
        self.posts_by_channel: Counter[str] = Counter()
        self._reached: dict[int, asyncio.Future[None]] = {}  # card count -> its waiters

    def _record(self, call: SlackCall) -> None:
        super()._record(call)
        if not call.ok:
            self.failures[f"{call.method}:{call.status}:{call.error}"] += 1
            return
        if call.method in ("chat.postMessage", "chat.postEphemeral"):
            self.posts_by_channel[str(call.args.get("channel"))] += 1
        if call.method in _CARD_METHODS:
            self._trace_card(call)

    def _trace_card(self, call: SlackCall) -> None:
        channel = str(call.response.get("channel") or call.args.get("channel"))
        ts = str(call.response.get("ts") or call.args.get("ts"))
        trace = self.cards.setdefault((channel, ts), CardTrace(channel, ts))
        if call.method == "chat.postMessage":
            trace.posts += 1
            trace.posted_at = call.at
        else:
            trace.updates += 1
        blocks = call.args.get("blocks")
        trace.tags.update(BENCH_TAG.findall(json.dumps(blocks)))
        if trace.complete_at is None and has_action(blocks, APPROVE_ACTION):
            trace.complete_at = call.at
            if channel == self.review_channel:
                self.complete_cards += 1
                waiter = self._reached.pop(self.complete_cards, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)

    def build_app(self) -> web.Application:
        app = super().build_app()
        app.router.add_get("/_bench/progress", self._progress)
        app.router.add_get("/_bench/summary", self._summary)
        return app

    async def _progress(self, request: web.Request) -> web.Response:
        """With ``?until=N&wait=S``, answers once N cards are complete or S seconds passed."""
        until = int(request.query.get("until", "0"))
        wait_s = min(float(request.query.get("wait", "0")), MAX_PROGRESS_WAIT_S)
        if self.complete_cards < until and wait_s > 0:
            loop = asyncio.get_running_loop()
            waiter = self._reached.setdefault(until, loop.create_future())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(waiter), wait_s)
        return web.json_response({"complete_cards": self.complete_cards, "calls": len(self.calls)})

    async def _summary(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "cards": [trace.as_json() for trace in self.cards.values()],
                "methods": dict(self.call_counts),
                "failures": dict(self.failures),
                "posts_by_channel": dict(self.posts_by_channel),
            }
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the fake Slack of the load bench.")
    parser.add_argument("--review-channel", required=True)
    parser.add_argument("--seed", type=Path, help="JSON as for tests.fakes.slack_api --seed")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every call")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument(
        "--rate-limits", action="store_true", help="answer 429 past Slack's published rate limits"
    )
    options = parser.parse_args(argv)
    server = TracedSlack(
        review_channel=options.review_channel,
        latency_s=options.latency,
        rate_limits=options.rate_limits,
        port=options.port,
    )
    if options.seed is not None:
        server.seed(json.loads(options.seed.read_text()))
    asyncio.run(run_standalone(server, print_url=True))


if __name__ == "__main__":
    main()

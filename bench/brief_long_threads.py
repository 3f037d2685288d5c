"""Escalation briefs of long threads, end to end: Slack calls, LLM calls, input tokens, wall time.

For each thread size, a real bot (``tests/slack/conftest.start_bot``: Bolt,
the paced Slack client, the store, the real ``prompts/``) is asked for a
brief with the message shortcut; the thread (``tests/fixtures/threads``)
lives in the fake Slack, which enforces Slack's published rate limits
(``conversations.replies`` is Tier 3: 50 a minute, bursts allowed), and the
fake OpenAI takes ``--latency`` seconds per call.  Wall time runs from the
signed request to the ``chat.update`` that shows the brief.  Input tokens
are this repository's local estimate (``app.domain.tokens``) of every
request body sent, since the fake reports a fixed usage.

    .venv/bin/python -m bench.brief_long_threads --sizes 1000 5000 --latency 1 --budget 8000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from app.domain.tokens import estimate_messages
from tests.fakes.openai_api import BRIEF, BRIEF_PART, FakeOpenAI, schema_name
from tests.fakes.signing import message_shortcut_body
from tests.fakes.slack_api import FakeSlack
from tests.fakes.support_workspace import AGENT, SUPPORT, workspace_seed
from tests.fixtures.threads.generate import long_thread
from tests.slack.conftest import bot_settings, start_bot, stop_bot, wait_until


async def one_run(size: int, *, latency: float, budget: int, limits: bool) -> dict[str, Any]:
    thread = long_thread(size)
    async with FakeSlack(rate_limits=limits) as slack, FakeOpenAI(latency_s=latency) as llm:
        slack.seed(workspace_seed())
        for m in thread.messages:
            slack.workspace.add_message(
                SUPPORT, m["ts"], m["text"], user=m.get("user") or "", bot_id=m.get("bot_id"),
                thread_ts=None if m["ts"] == thread.root else thread.root,
            )
        with tempfile.TemporaryDirectory() as tmp:
            settings = bot_settings(
                slack, llm, f"sqlite:///{Path(tmp) / 'bench.db'}",
                TACTFUL_BRIEF_CONTEXT_TOKENS=str(budget), TACTFUL_LLM_RETRY_DEADLINE="30",
                TACTFUL_LLM_TIMEOUT_SECONDS="60",
            )
            running = await start_bot(settings, slack, llm)
            try:
                before = dict(slack.call_counts)
                root = thread.messages[0]
                began = time.perf_counter()
                await running.post(message_shortcut_body(
                    callback_id="summarize_thread", user_id=AGENT, channel_id=SUPPORT,
                    message={"ts": root["ts"], "text": root["text"], "user": root.get("user")},
                    response_url=slack.response_url("bench"),
                ))
                dm = slack.workspace.direct_channel(AGENT)
                await wait_until(
                    lambda: [c for c in slack.calls_to("chat.update") if c.args.get("channel") == dm
                             and "Escalation brief" in json.dumps(c.args.get("blocks"))],
                    timeout=600, every=0.05,
                )
                wall = time.perf_counter() - began
            finally:
                await stop_bot(running)
        calls = {k: v - before.get(k, 0) for k, v in slack.call_counts.items() if v - before.get(k, 0)}
        tokens = [estimate_messages([m["content"] for m in r["messages"]]) for r in llm.requests]
        kinds = [schema_name(r) for r in llm.requests]
        combine = [t for t, k in zip(tokens, kinds, strict=True) if k == BRIEF]
        return {
            "messages": size,
            "slack_calls": sum(calls.values()),
            "replies_pages": calls.get("conversations.replies", 0),
            "slack_429": sum(slack.ratelimited.values()),
            "slack_by_method": calls,
            "llm_calls": len(llm.requests),
            "parts": kinds.count(BRIEF_PART),
            "input_tokens": sum(tokens),
            "max_call_tokens": max(tokens),
            "combine_tokens": combine[0] if combine else 0,
            "llm_overlap": llm.max_in_flight,
            "wall_s": round(wall, 2),
        }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--latency", type=float, default=1.0, help="seconds per LLM call")
    parser.add_argument("--budget", type=int, default=8000, help="TACTFUL_BRIEF_CONTEXT_TOKENS")
    parser.add_argument("--no-limits", action="store_true", help="fake Slack without rate limits")
    options = parser.parse_args(argv)
    rows = [
        asyncio.run(one_run(n, latency=options.latency, budget=options.budget,
                            limits=not options.no_limits))
        for n in options.sizes
    ]
    print("| messages | Slack calls (replies pages, 429s) | LLM calls (parts + 1) | input tokens "
          "(largest call, combine call) | LLM calls at once | wall time |")
    print("|---:|---|---|---|---:|---:|")
    for r in rows:
        print(f"| {r['messages']:,} | {r['slack_calls']} ({r['replies_pages']}, {r['slack_429']}) "
              f"| {r['llm_calls']} ({r['parts']} + 1) | {r['input_tokens']:,} "
              f"({r['max_call_tokens']:,}, {r['combine_tokens']:,}) | {r['llm_overlap']} "
              f"| {r['wall_s']} s |")
    for r in rows:
        print(f"{r['messages']}: {r['slack_by_method']}")


if __name__ == "__main__":
    main()

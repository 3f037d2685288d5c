"""The Slack side of the load bench: the complaints and their delivery.

The workspace is the one every Slack story starts from
(``tests.fakes.support_workspace``), seeded with the complaints.

``schedule`` turns complaint texts into signed ``event_callback`` deliveries
spread evenly in time (plus scripted Slack retries); ``send_all`` fires them
over real HTTP, each as its own task, and redelivers like Slack does when an
answer is late (over 3 s) or not 200.  Every answer is timed.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from tests.factories import load_complaint_fixtures
from tests.fakes.signing import SIGNING_SECRET, event_callback_body, message_event
from tests.fakes.support_workspace import CUSTOMER, CUSTOMER_TEAM, SUPPORT

SLACK_ACK_LIMIT_S = 3.0  # Slack redelivers an event it got no answer to within 3 s
Signed = tuple[bytes, dict[str, str]]


@dataclass(frozen=True)
class Send:
    """One request of the schedule: an original delivery or a scripted Slack retry of it."""

    at_s: float  # offset from the start of the schedule
    index: int
    kind: str  # "event", "retry" (scripted) or "redelivery" (Slack's answer to a failed ack)
    signed: Signed = field(repr=False)
    # What Slack sends when this delivery fails (no answer within 3 s, or not 200).
    redelivery: Signed | None = field(default=None, repr=False)


@dataclass
class Ack:
    index: int
    kind: str
    sent_at: float  # time.monotonic()
    latency_s: float
    status: str


def complaint_texts(count: int) -> list[tuple[str, str]]:
    """``(ts, text)`` per event: fixture texts cycled, each tagged so its card can be traced."""
    fixtures = itertools.cycle(load_complaint_fixtures())
    base = int(time.time())
    return [
        (f"{base}.{i + 1:06d}", f"bench-{i + 1:04d}: {next(fixtures)['text'].strip()}")
        for i in range(count)
    ]


def schedule(
    texts: list[tuple[str, str]], *, over_s: float, retries: int, retry_delay_s: float
) -> list[Send]:
    """Originals evenly over ``over_s``; ``retries`` of them resent ``retry_delay_s`` later."""
    nonce = f"{int(time.time()) % 100000:05d}"
    step = over_s / len(texts)
    retried = {round(k * len(texts) / retries) for k in range(retries)} if retries else set()
    sends = []
    for i, (ts, text) in enumerate(texts):
        event = message_event(SUPPORT, text, user=CUSTOMER, ts=ts, user_team=CUSTOMER_TEAM)
        event_id = f"Ev{nonce}B{i + 1:05d}"
        sends.append(
            Send(
                i * step,
                i,
                "event",
                _delivery(event, event_id),
                redelivery=_delivery(event, event_id, retry_num=1),
            )
        )
        if i in retried:
            again = _delivery(event, event_id, retry_num=1, reason="http_error")
            sends.append(Send(i * step + retry_delay_s, i, "retry", again))
    return sorted(sends, key=lambda s: s.at_s)


def _delivery(
    event: dict[str, Any],
    event_id: str,
    *,
    retry_num: int | None = None,
    reason: str = "http_timeout",
) -> Signed:
    return event_callback_body(
        event, event_id=event_id, retry_num=retry_num, retry_reason=reason, secret=SIGNING_SECRET
    )


async def send_all(
    session: aiohttp.ClientSession, url: str | Sequence[str], sends: list[Send]
) -> list[Ack]:
    """Fire each request at its time as its own task; return when every answer is in.

    Like Slack, an original delivery that gets no answer within 3 s, or an
    answer other than 200, is delivered again at once with X-Slack-Retry-Num.
    With several URLs (instances behind a load balancer) event ``i`` goes to
    URL ``i mod n`` and its redelivery to the next one.
    """
    urls = [url] if isinstance(url, str) else list(url)
    loop = asyncio.get_running_loop()
    acks: list[Ack] = []

    async def post(index: int, kind: str, signed: Signed, to: str) -> Ack:
        sent_at = time.monotonic()
        began = time.perf_counter()
        body, headers = signed
        try:
            async with session.post(to, data=body, headers=headers) as response:
                await response.read()
                status = str(response.status)
        except (aiohttp.ClientError, TimeoutError) as exc:
            status = type(exc).__name__
        ack = Ack(index, kind, sent_at, time.perf_counter() - began, status)
        acks.append(ack)
        return ack

    async def deliver(send: Send) -> None:
        to = urls[send.index % len(urls)]
        first = asyncio.create_task(post(send.index, send.kind, send.signed, to))
        done, _ = await asyncio.wait({first}, timeout=SLACK_ACK_LIMIT_S)
        failed = not done or first.result().status != "200"
        if send.redelivery is not None and failed:
            again = urls[(send.index + 1) % len(urls)]
            await post(send.index, "redelivery", send.redelivery, again)
        await first

    start = loop.time()
    tasks = []
    for send in sends:
        await asyncio.sleep(max(0.0, start + send.at_s - loop.time()))
        tasks.append(asyncio.create_task(deliver(send)))
    await asyncio.gather(*tasks)
    return acks

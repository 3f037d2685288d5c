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
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

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


async def send_all(urls: str | Sequence[str], sends: list[Send], *, timeout_s: float) -> list[Ack]:
    """Fire each request at its time as its own task; return when every answer is in.

    Like Slack, an original delivery that gets no answer within 3 s, or an
    answer other than 200, is delivered again at once with X-Slack-Retry-Num.
    With several URLs (instances behind a load balancer) event ``i`` goes to
    URL ``i mod n`` and its redelivery to the next one.  Every request is
    built as bytes before the first is sent, and connections are kept alive
    and reused, so the bench spends as little CPU per request as it can on
    the cores it shares with the bots.
    """
    servers = [_Server(url) for url in ([urls] if isinstance(urls, str) else urls)]
    loop = asyncio.get_running_loop()
    acks: list[Ack] = []

    async def post(index: int, kind: str, server: _Server, request: bytes) -> Ack:
        sent_at = time.monotonic()
        began = time.perf_counter()
        try:
            async with asyncio.timeout(timeout_s):
                status = str(await server.send(request))
        except (
            OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError
        ) as exc:
            status = type(exc).__name__
        ack = Ack(index, kind, sent_at, time.perf_counter() - began, status)
        acks.append(ack)
        return ack

    async def deliver(
        send: Send, first: tuple[_Server, bytes], again: tuple[_Server, bytes] | None
    ) -> None:
        sending = asyncio.create_task(post(send.index, send.kind, *first))
        done, _ = await asyncio.wait({sending}, timeout=SLACK_ACK_LIMIT_S)
        if again is not None and (not done or sending.result().status != "200"):
            await post(send.index, "redelivery", *again)
        await sending

    def built(server: _Server, signed: Signed) -> tuple[_Server, bytes]:
        return server, server.request(signed)

    n = len(servers)
    plan = [
        (
            send,
            built(servers[send.index % n], send.signed),
            built(servers[(send.index + 1) % n], send.redelivery) if send.redelivery else None,
        )
        for send in sends
    ]
    start = loop.time()
    tasks = []
    for send, first, again in plan:
        await asyncio.sleep(max(0.0, start + send.at_s - loop.time()))
        tasks.append(asyncio.create_task(deliver(send, first, again)))
    try:
        await asyncio.gather(*tasks)
    finally:
        for server in servers:
            server.close()
    return acks


_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length: *(\d+)", re.IGNORECASE)
_CONNECTION_CLOSE = re.compile(rb"\r\nconnection: *close", re.IGNORECASE)


class _Server:
    """Keep-alive HTTP/1.1 connections to one bot, each carrying one request at a time.

    Only what the bots' answers need: a status line, headers with
    Content-Length, a body.  An answer without a length ends the connection.
    """

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.hostname is None or parts.port is None:
            raise ValueError(f"need http://host:port/path, got {url}")
        self.host, self.port, self.path = parts.hostname, parts.port, parts.path or "/"
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    def request(self, signed: Signed) -> bytes:
        body, headers = signed
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        return (
            f"POST {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{head}"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body

    async def send(self, request: bytes) -> int:
        """Send a built request on an idle connection (or a new one); the answer's status."""
        connection = None
        while self._idle and connection is None:
            connection = self._idle.pop()
            if connection[0].at_eof():  # the bot closed it meanwhile
                connection[1].close()
                connection = None
        reader, writer = connection or await asyncio.open_connection(self.host, self.port)
        try:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = _CONTENT_LENGTH.search(head)
            if length is None:
                await reader.read()  # to the end of the connection
                writer.close()
                return status
            await reader.readexactly(int(length[1]))
        except BaseException:
            writer.close()
            raise
        if _CONNECTION_CLOSE.search(head):
            writer.close()
        else:
            self._idle.append((reader, writer))
        return status

    def close(self) -> None:
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()

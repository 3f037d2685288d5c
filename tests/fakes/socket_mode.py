"""Slack's Socket Mode, faked: ``apps.connections.open`` and the websocket it hands out.

``FakeSlack`` owns one ``FakeSocketMode`` (``fake.socket_mode``).  A call to
``apps.connections.open`` with the app-level token in the Authorization header
issues a one-use ticket URL ``ws://127.0.0.1:<port>/socket?ticket=...``; the
client that connects there gets Slack's ``hello`` and then whatever envelopes a
test pushes with ``send``.  Every frame the client sends back is recorded, so a
test can wait for the ack of an envelope (``ack``) and read its payload.
Pings are answered with pongs, as Slack's servers do.

The envelope builders wrap payloads as Slack does (docs.slack.dev, "Using
Socket Mode"): ``events_api`` with ``retry_attempt``/``retry_reason``,
``interactive`` and ``slash_commands``.  ``envelope_from_http`` turns the
signed HTTP bodies of ``tests.fakes.signing`` into the envelope that carries
the same payload over the socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from aiohttp import WSCloseCode, WSMsgType, web

from .slack_methods import error

APP_TOKEN = "xapp-1-test"
OPEN_METHOD = "apps.connections.open"
SOCKET_PATH = "/socket"

Envelope = dict[str, Any]
Signed = tuple[bytes, dict[str, str]]

# Payload types whose ack may carry a response (response_action, options), per Slack's docs.
_RESPONDING_INTERACTIONS = {"view_submission", "block_suggestion"}


@dataclass(frozen=True)
class Ack:
    """One acknowledgement the client sent back for an envelope."""

    envelope_id: str
    payload: dict[str, Any] | None
    at: float  # time.monotonic() when it arrived
    after_s: float | None  # seconds since the envelope was pushed, if the fake pushed it


class FakeSocketMode:
    """The Socket Mode side of a fake Slack app: tickets, connections, envelopes and acks."""

    def __init__(self, *, app_token: str = APP_TOKEN, app_id: str = "A1") -> None:
        self.app_token = app_token
        self.app_id = app_id
        self.connects = 0  # websockets that ever got a hello
        self.refused = 0  # connection attempts without a valid ticket
        self.pings = 0  # pings answered with a pong
        self.received: list[dict[str, Any]] = []  # every JSON frame from the client, in order
        self._tickets: set[str] = set()
        self._open: list[web.WebSocketResponse] = []
        self._acks: defaultdict[str, list[Ack]] = defaultdict(list)
        self._pushed_at: dict[str, float] = {}
        self._changed = asyncio.Event()

    # --- what a test reads ---------------------------------------------------

    @property
    def connections(self) -> int:
        """Websockets open right now."""
        return len(self._open)

    def acks_for(self, envelope_id: str) -> list[Ack]:
        return list(self._acks.get(envelope_id, []))

    async def wait_connected(
        self,
        connects: int = 1,
        timeout: float = 10.0,  # noqa: ASYNC109 (same spelling as FakeSlack.wait_for)
    ) -> None:
        """Wait until ``connects`` websockets have been greeted and one is open."""
        await self._wait(
            lambda: self.connects >= connects and bool(self._open),
            timeout,
            lambda: f"{connects} connection(s); got {self.connects}, {self.connections} open",
        )

    async def wait_closed(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        await self._wait(
            lambda: not self._open, timeout, lambda: f"no open connection; {self.connections} open"
        )

    async def ack(self, envelope_id: str, timeout: float = 3.0) -> Ack:  # noqa: ASYNC109
        """The first ack of ``envelope_id``; fails if none arrives within ``timeout`` s."""
        await self._wait(
            lambda: bool(self._acks.get(envelope_id)),
            timeout,
            lambda: f"an ack of envelope {envelope_id}",
        )
        return self._acks[envelope_id][0]

    # --- what a test does ----------------------------------------------------

    async def send(self, envelope: Envelope) -> None:
        """Push ``envelope`` down the newest open websocket, as Slack delivers to one connection."""
        if not self._open:
            raise AssertionError("no Socket Mode client is connected")
        envelope_id = envelope.get("envelope_id")
        if envelope_id:
            self._pushed_at.setdefault(str(envelope_id), time.monotonic())
        await self._open[-1].send_str(json.dumps(envelope))

    async def disconnect(self, reason: str = "refresh_requested") -> None:
        """Slack's warning that it will close this connection: the client should open a new one."""
        await self.send({"type": "disconnect", "reason": reason, "debug_info": {"host": "fake"}})

    # --- apps.connections.open -----------------------------------------------

    def open_connection(self, header_token: str, *, ws_base: str) -> dict[str, Any]:
        """The answer to ``apps.connections.open``; the token must come in the Authorization header."""
        if not header_token:
            return error("not_authed")
        if not header_token.startswith("xapp-"):
            return error("not_allowed_token_type")
        if header_token != self.app_token:
            return error("invalid_auth")
        ticket = uuid.uuid4().hex
        self._tickets.add(ticket)
        return {"ok": True, "url": f"{ws_base}{SOCKET_PATH}?ticket={ticket}&app_id={self.app_id}"}

    # --- the websocket -------------------------------------------------------

    async def handle_websocket(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:
            self.refused += 1
            return web.Response(status=401, text="invalid or used ticket")
        self._tickets.discard(ticket)  # a ticket opens one connection only
        ws = web.WebSocketResponse(autoping=False)
        await ws.prepare(request)
        self._open.append(ws)
        self.connects += 1
        try:
            await ws.send_json(self._hello())
            self._notify()
            async for message in ws:
                if message.type == WSMsgType.PING:
                    await ws.pong(message.data)
                    self.pings += 1
                elif message.type == WSMsgType.TEXT:
                    self._on_text(message.data)
        finally:
            self._open.remove(ws)
            self._notify()
        return ws

    async def close_all(self, _app: web.Application | None = None) -> None:
        """Close every websocket (the server is going away); an ``on_shutdown`` hook."""
        for ws in list(self._open):
            with contextlib.suppress(Exception):
                await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")

    def _hello(self) -> dict[str, Any]:
        return {
            "type": "hello",
            "num_connections": len(self._open),
            "debug_info": {
                "host": "fake-applink-1",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": self.app_id},
        }

    def _on_text(self, data: str) -> None:
        try:
            frame = json.loads(data)
        except ValueError:
            frame = {"unparsable": data}
        self.received.append(frame)
        envelope_id = frame.get("envelope_id") if isinstance(frame, dict) else None
        if envelope_id:
            now = time.monotonic()
            pushed = self._pushed_at.get(str(envelope_id))
            self._acks[str(envelope_id)].append(
                Ack(str(envelope_id), frame.get("payload"), now, None if pushed is None else now - pushed)
            )
        self._notify()

    # --- waiting -------------------------------------------------------------

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait(self, done: Any, timeout: float, what: Any) -> None:  # noqa: ASYNC109
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not done():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"waited {timeout}s for {what()}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)


# --- envelopes ----------------------------------------------------------------


def new_envelope_id() -> str:
    """Slack's envelope ids are UUIDs."""
    return str(uuid.uuid4())


def events_api_envelope(
    payload: dict[str, Any],
    *,
    envelope_id: str | None = None,
    retry_attempt: int = 0,
    retry_reason: str = "",
) -> Envelope:
    """An ``event_callback`` body as Slack sends it over the socket (first delivery: attempt 0)."""
    return {
        "envelope_id": envelope_id or new_envelope_id(),
        "payload": payload,
        "type": "events_api",
        "accepts_response_payload": False,
        "retry_attempt": retry_attempt,
        "retry_reason": retry_reason,
    }


def interactive_envelope(payload: dict[str, Any], *, envelope_id: str | None = None) -> Envelope:
    """A block_actions / view_submission / shortcut payload as a JSON object, not form-encoded."""
    return {
        "envelope_id": envelope_id or new_envelope_id(),
        "payload": payload,
        "type": "interactive",
        "accepts_response_payload": payload.get("type") in _RESPONDING_INTERACTIONS,
    }


def slash_commands_envelope(fields: dict[str, Any], *, envelope_id: str | None = None) -> Envelope:
    """A slash command's fields as a JSON object; the ack may carry the response."""
    return {
        "envelope_id": envelope_id or new_envelope_id(),
        "payload": fields,
        "type": "slash_commands",
        "accepts_response_payload": True,
    }


def unsigned(signed: Signed) -> dict[str, Any]:
    """The payload inside a signed HTTP body: JSON, the form field ``payload``, or a plain form."""
    body, headers = signed
    text = body.decode()
    if headers.get("Content-Type", "").startswith("application/json"):
        decoded: dict[str, Any] = json.loads(text)
        return decoded
    form = {key: values[-1] for key, values in parse_qs(text, keep_blank_values=True).items()}
    if "payload" in form:
        payload: dict[str, Any] = json.loads(form["payload"])
        return payload
    return dict(form)


def envelope_from_http(signed: Signed, *, envelope_id: str | None = None) -> Envelope:
    """The Socket Mode envelope carrying what ``signed`` would carry over HTTP.

    Slack's retry headers become ``retry_attempt``/``retry_reason``.
    """
    _, headers = signed
    payload = unsigned(signed)
    if headers.get("Content-Type", "").startswith("application/json"):
        return events_api_envelope(
            payload,
            envelope_id=envelope_id,
            retry_attempt=int(headers.get("X-Slack-Retry-Num", "0")),
            retry_reason=headers.get("X-Slack-Retry-Reason", ""),
        )
    if "command" in payload and "type" not in payload:
        return slash_commands_envelope(payload, envelope_id=envelope_id)
    return interactive_envelope(payload, envelope_id=envelope_id)

"""``FakeSlack``: a real HTTP server speaking the Slack Web API methods tactful uses.

Point ``AsyncWebClient(base_url=fake.url)`` (or ``SLACK_API_URL``) at it.  It
checks the bot token, records every call in order (``calls``), keeps the
messages the bot posts (``messages``), enforces Slack's size limits, and can be
told to fail the next call of a method (429 with Retry-After, 5xx, or an
``ok: false`` error).  ``fake.response_url(key)`` gives a ``response_url`` whose
posts are recorded as method ``"response_url"``.

``FakeSlack(rate_limits=True)`` also enforces Slack's published rate limits
(``tests.fakes.slack_rate_limits``): past them a call is answered 429
``ratelimited`` with Retry-After, as Slack does.  Off by default.

Standalone, for the benchmark::

    python -m tests.fakes.slack_api --port 0 --print-url [--seed seed.json] [--rate-limits]

``GET /_fake/calls`` lists the recorded calls, ``GET /_fake/stats`` counts
calls and 429s per method (cheap enough to poll), and ``POST /_fake/seed``
takes the same JSON as ``--seed`` (see ``FakeSlack.seed``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from .http_server import LocalServer, run_standalone
from .slack_methods import METHODS, error
from .slack_rate_limits import SlackRateLimits
from .slack_workspace import Message, SlackWorkspace
from .socket_mode import APP_TOKEN, OPEN_METHOD, SOCKET_PATH, FakeSocketMode

# Fields Slack takes as JSON-encoded strings inside a form body.
_JSON_FIELDS = ("blocks", "attachments", "view", "metadata", "user_auth_blocks")


@dataclass(frozen=True)
class SlackCall:
    """One request the fake received: what was asked and what it answered."""

    method: str
    args: dict[str, Any]
    at: float  # time.monotonic() when the request arrived
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response.get("ok"))

    @property
    def error(self) -> str | None:
        value = self.response.get("error")
        return None if value is None else str(value)


@dataclass(frozen=True)
class _Failure:
    status: int
    error: str | None
    retry_after: int | None


class FakeSlack(LocalServer):
    """A Slack workspace on 127.0.0.1 for one bot token."""

    def __init__(
        self,
        *,
        token: str = "xoxb-test",
        team_id: str = "T0AGENTS",
        bot_user_id: str = "UBOT",
        latency_s: float = 0.0,
        bot_id: str = "B0BOT",
        app_id: str = "A1",
        trigger_ttl_s: float | None = 3.0,
        app_token: str = APP_TOKEN,
        rate_limits: bool | SlackRateLimits = False,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        self.token = token
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.latency_s = latency_s
        self.workspace = SlackWorkspace(
            team_id=team_id,
            bot_user_id=bot_user_id,
            bot_id=bot_id,
            app_id=app_id,
            trigger_ttl_s=trigger_ttl_s,
        )
        # apps.connections.open and the websocket it hands out (``tests.fakes.socket_mode``).
        self.socket_mode = FakeSocketMode(app_token=app_token, app_id=app_id)
        self.calls: list[SlackCall] = []
        self.rate_limits: SlackRateLimits | None = None
        if rate_limits is not False:
            self.rate_limits = SlackRateLimits() if rate_limits is True else rate_limits
        # Per method: every call, and those answered 429 (injected or over the limits).
        self.call_counts: Counter[str] = Counter()
        self.ratelimited: Counter[str] = Counter()
        self._failures: defaultdict[str, deque[_Failure]] = defaultdict(deque)
        self._changed = asyncio.Event()

    @property
    def url(self) -> str:
        return f"{self.base_url}/api/"

    def response_url(self, key: str = "hook") -> str:
        """A ``response_url`` to put in payloads; posts to it are recorded as ``"response_url"``."""
        return f"{self.base_url}/hooks/{key}"

    # --- state ---------------------------------------------------------------

    @property
    def messages(self) -> defaultdict[str, list[Message]]:
        """Channel -> messages (seeded and posted), in the order they arrived."""
        return self.workspace.messages

    @property
    def ephemerals(self) -> list[Message]:
        return self.workspace.ephemerals

    @property
    def views(self) -> dict[str, dict[str, Any]]:
        """View id -> the view as last opened/updated/published."""
        return self.workspace.views

    @property
    def home_tabs(self) -> dict[str, dict[str, Any]]:
        return self.workspace.home_tabs

    # Seeding goes straight to the workspace; see ``SlackWorkspace`` for the options.

    def add_user(self, user_id: str, **options: Any) -> None:
        self.workspace.add_user(user_id, **options)

    def add_usergroup(self, group_id: str, users: list[str]) -> None:
        self.workspace.add_usergroup(group_id, users)

    def add_channel(self, channel: str, **options: Any) -> None:
        self.workspace.add_channel(channel, **options)

    def add_message(self, channel: str, ts: str, text: str, **options: Any) -> None:
        self.workspace.add_message(channel, ts, text, **options)

    def seed(self, data: dict[str, Any]) -> None:
        """Load state from JSON-able data (the ``--seed`` file, ``POST /_fake/seed``)::

        {"users": [{"id": "U1", "name": "ana", "is_stranger": false}],
         "usergroups": {"S1": ["U1"]},
         "channels": {"C1": {"is_ext_shared": true}},
         "messages": [{"channel": "C1", "ts": "1.000100", "text": "hi", "user": "U9"}]}
        """
        for user in data.get("users", []):
            options = dict(user)
            self.add_user(str(options.pop("id")), **options)
        for group_id, users in data.get("usergroups", {}).items():
            self.add_usergroup(group_id, list(users))
        for channel, options in data.get("channels", {}).items():
            self.add_channel(channel, **(options or {}))
        for message in data.get("messages", []):
            fields = dict(message)
            channel, ts, text = fields.pop("channel"), fields.pop("ts"), fields.pop("text")
            self.add_message(channel, ts, text, **fields)

    # --- failure injection ---------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        status: int = 200,
        error: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """The next ``times`` calls of ``method`` fail; failures are consumed in order.

        429 -> HTTP 429 ``ratelimited`` with Retry-After (default 1 s); 5xx -> that
        status; 200 -> ``{"ok": false, "error": error}`` (default ``internal_error``).
        """
        for _ in range(times):
            self._failures[method].append(_Failure(status, error, retry_after))

    # --- what was called -----------------------------------------------------

    def calls_to(self, method: str) -> list[SlackCall]:
        return [c for c in self.calls if c.method == method]

    async def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 10.0,  # noqa: ASYNC109 (the shared test API names it so)
        where: Callable[[SlackCall], bool] | None = None,
    ) -> list[SlackCall]:
        """Wait for ``count`` calls of ``method`` (matching ``where``); return all that match."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = [c for c in self.calls_to(method) if where is None or where(c)]
            if len(found) >= count:
                return found
            remaining = deadline - loop.time()
            if remaining <= 0:
                seen = [f"{c.method}({c.error or 'ok'})" for c in self.calls]
                raise AssertionError(
                    f"waited {timeout}s for {count} x {method}, got {len(found)}; calls: {seen}"
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    def stats(self) -> dict[str, Any]:
        return {
            "calls": dict(self.call_counts),
            "ratelimited": dict(self.ratelimited),
            "total_calls": sum(self.call_counts.values()),
            "total_ratelimited": sum(self.ratelimited.values()),
            "rate_limits": self.rate_limits is not None,
        }

    def _record(self, call: SlackCall) -> None:
        self.calls.append(call)
        self.call_counts[call.method] += 1
        if call.status == 429:
            self.ratelimited[call.method] += 1
        # Wake every waiter, then arm a fresh event for the next call.
        self._changed.set()
        self._changed = asyncio.Event()

    # --- HTTP ----------------------------------------------------------------

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/hooks/{key:.*}", self._handle_hook)
        app.router.add_get(SOCKET_PATH, self.socket_mode.handle_websocket)
        app.on_shutdown.append(self.socket_mode.close_all)
        app.router.add_get("/_fake/calls", self._handle_list_calls)
        app.router.add_get("/_fake/stats", self._handle_stats)
        app.router.add_post("/_fake/seed", self._handle_seed)
        return app

    async def _handle_api(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        method = request.match_info["method"]
        args, bad_body = await _read_args(request)
        # Slack takes the token from the header or, for old clients, from the body.
        body_token = str(args.pop("token", ""))
        header = request.headers.get("Authorization", "")
        in_header = header.startswith("Bearer ")
        token = header.removeprefix("Bearer ") if in_header else body_token
        if self.latency_s > 0:
            await asyncio.sleep(self.latency_s)
        if method == OPEN_METHOD:
            status, body, headers = self._open_socket(token if in_header else "")
        else:
            status, body, headers = self._answer(method, args, token, bad_body)
        self._record(SlackCall(method, args, arrived, status, body))
        return web.json_response(body, status=status, headers=headers)

    def _answer(
        self, method: str, args: dict[str, Any], token: str, bad_body: bool
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        injected = self._injected_failure(method)
        if injected is not None:
            return injected
        if method not in METHODS:
            return 200, error("unknown_method"), {}
        if not token:
            return 200, error("not_authed"), {}
        if token != self.token:
            return 200, error("invalid_auth"), {}
        if bad_body:
            return 200, error("invalid_json"), {}
        limited = self._over_limit(method, args)
        if limited is not None:
            return limited
        return 200, METHODS[method](self.workspace, args), {}

    def _over_limit(
        self, method: str, args: dict[str, Any]
    ) -> tuple[int, dict[str, Any], dict[str, str]] | None:
        if self.rate_limits is None:
            return None
        retry_after = self.rate_limits.retry_after(method, args)
        if retry_after is None:
            return None
        return 429, error("ratelimited"), {"Retry-After": str(retry_after)}

    def _open_socket(self, header_token: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Slack takes the app-level token for this method only from the Authorization header."""
        injected = self._injected_failure(OPEN_METHOD) or self._over_limit(OPEN_METHOD, {})
        if injected is not None:
            return injected
        ws_base = "ws" + self.base_url.removeprefix("http")
        return 200, self.socket_mode.open_connection(header_token, ws_base=ws_base), {}

    def _injected_failure(self, method: str) -> tuple[int, dict[str, Any], dict[str, str]] | None:
        queue = self._failures.get(method)
        if not queue:
            return None
        failure = queue.popleft()
        headers: dict[str, str] = {}
        if failure.status == 429:
            headers["Retry-After"] = str(
                failure.retry_after if failure.retry_after is not None else 1
            )
            return 429, error(failure.error or "ratelimited"), headers
        if failure.retry_after is not None:
            headers["Retry-After"] = str(failure.retry_after)
        return failure.status, error(failure.error or "internal_error"), headers

    async def _handle_hook(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        args, _ = await _read_args(request)
        if isinstance(args.get("payload"), str):
            args = json.loads(args["payload"])
        args["hook"] = request.match_info["key"]
        if self.latency_s > 0:
            await asyncio.sleep(self.latency_s)
        status, body, headers = self._injected_failure("response_url") or (200, {"ok": True}, {})
        self._record(SlackCall("response_url", args, arrived, status, body))
        return web.json_response(body, status=status, headers=headers)

    async def _handle_list_calls(self, request: web.Request) -> web.Response:
        return web.json_response({"calls": [asdict(c) for c in self.calls]})

    async def _handle_stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats())

    async def _handle_seed(self, request: web.Request) -> web.Response:
        self.seed(await request.json())
        return web.json_response({"ok": True})


async def _read_args(request: web.Request) -> tuple[dict[str, Any], bool]:
    """Query string + form or JSON body (JSON-string fields decoded), and whether it was bad."""
    args: dict[str, Any] = dict(request.query)
    bad_body = False
    if request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                body, bad_body = None, True
            if isinstance(body, dict):
                args.update(body)
        else:
            form = await request.post()
            args.update({k: v for k, v in form.items() if isinstance(v, str)})
    for key in _JSON_FIELDS:
        value = args.get(key)
        if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
            try:
                args[key] = json.loads(value)
            except ValueError:
                bad_body = True
    return args, bad_body


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a fake Slack Web API on 127.0.0.1.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument(
        "--print-url", action="store_true", help="print the API URL as the first stdout line"
    )
    parser.add_argument("--token", default="xoxb-test")
    parser.add_argument("--team-id", default="T0AGENTS")
    parser.add_argument("--bot-user-id", default="UBOT")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every call")
    parser.add_argument(
        "--seed", type=Path, help="JSON file of users, usergroups, channels, messages"
    )
    parser.add_argument(
        "--rate-limits", action="store_true", help="answer 429 past Slack's published rate limits"
    )
    options = parser.parse_args(argv)
    fake = FakeSlack(
        token=options.token,
        team_id=options.team_id,
        bot_user_id=options.bot_user_id,
        latency_s=options.latency,
        rate_limits=options.rate_limits,
        host=options.host,
        port=options.port,
    )
    if options.seed is not None:
        fake.seed(json.loads(options.seed.read_text()))
    asyncio.run(run_standalone(fake, print_url=options.print_url))


if __name__ == "__main__":
    main()

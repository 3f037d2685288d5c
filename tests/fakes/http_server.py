"""The plumbing both fakes share: a real aiohttp server on a free local port.

``LocalServer`` owns the socket, the runner and the async-context-manager
lifecycle; subclasses only build their ``web.Application``.  ``run_standalone``
is the ``python -m tests.fakes.<name>`` entry point the benchmark uses when it
needs the fake in a process of its own.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from types import TracebackType
from typing import Self

from aiohttp import web

# The bench fires 200 requests at once: the kernel's default accept queue of
# 128 would drop SYNs and add a 1 s retransmit to some of them.
_BACKLOG = 2048


class LocalServer:
    """A started/stopped aiohttp app bound to 127.0.0.1 (port 0 picks a free one)."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self._requested_port = port
        self._port: int | None = None
        self._runner: web.AppRunner | None = None

    def build_app(self) -> web.Application:
        raise NotImplementedError

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError(f"{type(self).__name__} is not started; call `await start()` first")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://host:port`` without a trailing slash."""
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """What a client is configured with; subclasses add their API prefix."""
        return self.base_url

    async def start(self) -> Self:
        if self._runner is not None:
            return self
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._requested_port))
        self._port = sock.getsockname()[1]
        # Short shutdown: a test teardown must not wait on idle keep-alive clients.
        runner = web.AppRunner(self.build_app(), access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        await web.SockSite(runner, sock, backlog=_BACKLOG).start()
        self._runner = runner
        return self

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


async def run_standalone(server: LocalServer, *, print_url: bool) -> None:
    """Serve until SIGINT/SIGTERM; with ``print_url`` the URL is the first stdout line."""
    await server.start()
    if print_url:
        print(server.url, flush=True)
    else:
        print(f"{type(server).__name__} listening on {server.url}", file=sys.stderr, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()

"""Child processes of the load bench: start them, learn their URL, sample memory, stop them.

Every child runs in its own session (so a Ctrl-C at the terminal reaches
the bench only, which then stops the children itself) with its output in a
log file under the run's temporary directory.  Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil


def free_port() -> int:
    """A port nobody listens on right now (the child binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Child:
    name: str
    process: asyncio.subprocess.Process
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process.returncode is None

    async def stop(
        self, *, grace_s: float = 10.0, signum: signal.Signals = signal.SIGTERM
    ) -> int | None:
        """``signum``, wait up to ``grace_s``, then SIGKILL; returns the exit code."""
        if self.running:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signum)
            try:
                await asyncio.wait_for(self.process.wait(), grace_s)
            except TimeoutError:
                self.kill_now()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.process.wait(), 5.0)
        return self.process.returncode

    def kill_now(self) -> None:
        """Last resort, safe to call from synchronous cleanup code."""
        if self.running:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


async def start_child(
    name: str,
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    log_dir: Path,
    url_timeout_s: float | None = None,
) -> tuple[Child, str | None]:
    """Start ``argv``; with ``url_timeout_s`` wait for the URL it prints as its first line."""
    log_path = log_dir / f"{name}.log"
    log = log_path.open("ab")
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env=dict(env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE if url_timeout_s is not None else log,
            stderr=log,
            start_new_session=True,
        )
    finally:
        log.close()  # the child holds its own copy of the descriptor
    child = Child(name, process, log_path)
    if url_timeout_s is None:
        return child, None
    assert process.stdout is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), url_timeout_s)
    except TimeoutError:
        await child.stop(grace_s=2.0)
        raise RuntimeError(
            f"{name} printed no URL within {url_timeout_s} s:\n{child.log_tail()}"
        ) from None
    url = line.decode().strip()
    if not url.startswith("http"):
        await child.stop(grace_s=2.0)
        raise RuntimeError(f"{name} did not start (got {url!r}):\n{child.log_tail()}")
    _keep_reading(process.stdout, log_path)
    return child, url


_readers: set[asyncio.Task[None]] = set()


def _keep_reading(stream: asyncio.StreamReader, log_path: Path) -> None:
    """Drain the child's stdout into its log so a full pipe never blocks it."""

    async def drain() -> None:
        while chunk := await stream.read(65536):
            with log_path.open("ab") as log:
                log.write(chunk)

    task = asyncio.create_task(drain())
    _readers.add(task)
    task.add_done_callback(_readers.discard)


class MemorySampler:
    """Peak resident memory of a process and its children, sampled on a fixed period."""

    def __init__(self, pid: int, *, every_s: float = 0.1) -> None:
        self._process = psutil.Process(pid)
        self._every_s = every_s
        self.peak_bytes = 0
        self.first_bytes = 0  # the first sample: for a bot, its memory once ready
        self.samples = 0
        self._task: asyncio.Task[None] | None = None

    def sample(self) -> None:
        try:
            processes = [self._process, *self._process.children(recursive=True)]
            total = 0
            for process in processes:
                with contextlib.suppress(psutil.NoSuchProcess):
                    total += process.memory_info().rss
        except psutil.NoSuchProcess:
            return
        self.samples += 1
        self.first_bytes = self.first_bytes or total
        self.peak_bytes = max(self.peak_bytes, total)

    async def _run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(self._every_s)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        await stop_task(self._task)


async def stop_task(task: asyncio.Task[None] | None) -> None:
    """Cancel a sampling loop and wait until it has stopped."""
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def thread_cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU seconds used so far by the main thread of ``pid`` and by everything else in it.

    The rest is the process total minus the main thread, which also counts
    threads that have already exited (aiosqlite runs one per connection).
    """
    try:
        process = psutil.Process(pid)
        times = process.cpu_times()
        main = sum(t.user_time + t.system_time for t in process.threads() if t.id == pid)
    except psutil.NoSuchProcess:
        return 0.0, 0.0
    return main, times.user + times.system - main


def child_env(settings: Mapping[str, str]) -> dict[str, str]:
    """The bench's environment without any tactful/Slack/OpenAI setting, plus ``settings``."""
    own = ("SLACK_", "OPENAI_", "TACTFUL_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(own)}
    env.update(settings)
    return env

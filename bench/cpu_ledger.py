"""Where a load run's CPU went: seconds per process, the PostgreSQL server's and the machine's.

A bot, a fake or the bench itself counts as one process (all its threads).
PostgreSQL runs a backend process per connection, and backends come and go:
the server's total is the postmaster's own time, plus what it has reaped of
exited backends, plus the live ones, read at both ends of the window, so
nothing is lost.  Which part of it was this run's is read from the backends'
process titles (``postgres: 15/main: user DATABASE host idle``), sampled
every second, because other jobs may use the same server.  The machine's busy
time (all cores, ``psutil.cpu_times``) minus all of the above and minus the
kernel's interrupt handlers (loopback traffic, charged to no process) is
what other jobs took from the run; the busiest of them are named.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import psutil

from bench.processes import stop_task
from tests.fakes.scratch_postgres import PostgresServer


@dataclass
class CpuUse:
    """CPU seconds spent in one window."""

    wall_s: float = 0.0
    cores: int = 1
    processes: dict[str, float] = field(default_factory=dict)  # name -> seconds
    postgres_s: float | None = None  # the whole server; None when none runs on this machine
    postgres_ours_s: float = 0.0  # backends of the run's databases (sampled)
    postgres_others_s: float = 0.0  # its other live processes: WAL writer, other databases
    machine_busy_s: float = 0.0
    machine_irq_s: float = 0.0  # interrupts and softirqs (loopback traffic), charged to no process
    top_others: list[tuple[str, float]] = field(default_factory=list)  # busiest other commands

    @property
    def others_s(self) -> float:
        """The machine's busy time that none of the run's processes account for."""
        ours = sum(self.processes.values()) + (self.postgres_s or 0.0)
        # Clock ticks and readings a moment apart: a quiet machine can come out a bit below 0.
        return max(0.0, self.machine_busy_s - self.machine_irq_s - ours)


class CpuLedger:
    """Reads the CPU times of the named processes and of PostgreSQL at the start and the end."""

    def __init__(
        self, processes: dict[str, int], *, databases: Iterable[str] = (), every_s: float = 1.0
    ) -> None:
        self._pids = dict(processes)
        self._databases = tuple(databases)
        self._every_s = every_s
        self._before: dict[str, float] = {}
        self._postgres_before: float | None = None
        self._machine_before = (0.0, 0.0)
        self._began = 0.0
        # pid -> (one of the run's databases?, CPU when first seen, when last seen)
        self._backends: dict[int, tuple[bool, float, float]] = {}
        self._postmasters: list[psutil.Process] = []
        self._everyone_before: dict[int, tuple[str, float]] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._began = time.monotonic()
        self._machine_before = _machine_busy()
        self._postmasters = _postmasters()
        self._postgres_before = self._postgres_total()
        self._everyone_before = _everyone()
        self._before = {name: _own_seconds(pid) for name, pid in self._pids.items()}
        if self._databases and self._postgres_before is not None:
            self._sample_backends()
            self._task = asyncio.create_task(self._sample_every())

    async def stop(self) -> CpuUse:
        if self._task is not None:
            await stop_task(self._task)
            self._sample_backends()
        use = CpuUse(wall_s=time.monotonic() - self._began, cores=psutil.cpu_count() or 1)
        use.processes = {
            name: _own_seconds(pid) - self._before[name] for name, pid in self._pids.items()
        }
        after = self._postgres_total()
        if after is not None and self._postgres_before is not None:
            use.postgres_s = after - self._postgres_before
        for ours, first, last in self._backends.values():
            if ours:
                use.postgres_ours_s += last - first
            else:
                use.postgres_others_s += last - first
        mine = {*self._pids.values(), *(p.pid for p in self._postmasters), *self._backends}
        use.top_others = _busiest(self._everyone_before, _everyone(), leave_out=mine)
        busy, irq = _machine_busy()
        use.machine_busy_s, use.machine_irq_s = (
            busy - self._machine_before[0],
            irq - self._machine_before[1],
        )
        return use

    async def _sample_every(self) -> None:
        while True:
            await asyncio.sleep(self._every_s)
            self._sample_backends()

    def _sample_backends(self) -> None:
        for pid in self._postmaster_children():
            with contextlib.suppress(OSError):
                seconds = _own_seconds(pid, strict=True)
                if pid in self._backends:
                    ours, first, _ = self._backends[pid]
                else:
                    with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                        title = cmdline.read().decode(errors="replace")
                    ours = any(name in title for name in self._databases)
                    first = 0.0 if self._task else seconds  # born inside the window: from zero
                self._backends[pid] = (ours, first, seconds)

    def _postmaster_children(self) -> list[int]:
        # The kernel's list of a process's children: far cheaper than psutil scanning /proc.
        pids: list[int] = []
        for postmaster in self._postmasters:
            path = f"/proc/{postmaster.pid}/task/{postmaster.pid}/children"
            with contextlib.suppress(OSError), open(path) as children:
                pids.extend(int(pid) for pid in children.read().split())
        return pids

    def _postgres_total(self) -> float | None:
        """Every PostgreSQL server on the machine: postmasters, reaped and live backends."""
        if not self._postmasters:
            return None
        total = 0.0
        for postmaster in self._postmasters:
            total += _own_seconds(postmaster.pid, reaped=True)
        for pid in self._postmaster_children():
            total += _own_seconds(pid)
        return total


_TICK_S = 1 / os.sysconf("SC_CLK_TCK")


def _own_seconds(pid: int, *, reaped: bool = False, strict: bool = False) -> float:
    """User + system CPU of ``pid`` (all threads), with ``reaped`` its waited-for children's.

    Read from /proc directly: psutil costs several file reads per process.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except OSError:
        if strict:
            raise
        return 0.0
    # fields[0] is /proc/PID/stat's 3rd field; utime, stime, cutime, cstime are 14th to 17th.
    ticks = int(fields[11]) + int(fields[12])
    if reaped:
        ticks += int(fields[13]) + int(fields[14])
    return ticks * _TICK_S


def _postmasters() -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["name", "ppid"]):
        with contextlib.suppress(psutil.Error):
            if process.info["name"] == "postgres" and process.parent().name() != "postgres":
                found.append(process)
    return found


def _everyone() -> dict[int, tuple[str, float]]:
    """pid -> (command, CPU seconds so far) for every process."""
    found = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                with open(f"/proc/{entry.name}/stat", "rb") as stat:
                    head, _, rest = stat.read().rpartition(b")")
                fields = rest.split()
                ticks = int(fields[11]) + int(fields[12])
                found[int(entry.name)] = (head.partition(b"(")[2].decode(), ticks * _TICK_S)
    return found


def _busiest(
    before: dict[int, tuple[str, float]],
    after: dict[int, tuple[str, float]],
    *,
    leave_out: set[int],
    top: int = 3,
) -> list[tuple[str, float]]:
    """The other commands that used the most CPU in between (processes that ended are missed:
    their time goes to their parent only once it waits for them, all of it, window or not)."""
    by_command: dict[str, float] = {}
    for pid, (command, seconds) in after.items():
        if pid not in leave_out:
            used = seconds - before.get(pid, (command, 0.0))[1]
            by_command[command] = by_command.get(command, 0.0) + used
    ranked = sorted(by_command.items(), key=lambda item: -item[1])
    return [(command, seconds) for command, seconds in ranked[:top] if seconds >= 0.05]


def _machine_busy() -> tuple[float, float]:
    """Busy seconds of all cores so far, and of those the interrupt handlers'."""
    t = psutil.cpu_times()
    return float(t.user + t.nice + t.system + t.irq + t.softirq), float(t.irq + t.softirq)


async def postgres_activity(server: PostgresServer, databases: Iterable[str]) -> tuple[int, int]:
    """Sessions opened and transactions ended so far in ``databases`` (pg_stat_database)."""
    connection = await server.connect()
    try:
        row = await connection.fetchrow(
            "SELECT coalesce(sum(sessions), 0) AS sessions,"
            " coalesce(sum(xact_commit + xact_rollback), 0) AS transactions"
            " FROM pg_stat_database WHERE datname = any($1::text[])",
            list(databases),
        )
    finally:
        await connection.close()
    assert row is not None
    return int(row["sessions"]), int(row["transactions"])

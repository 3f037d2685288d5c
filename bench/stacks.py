"""Where the bot's main thread spends its CPU, from a py-spy recording (``serve_load --py-spy``).

py-spy (``pip install py-spy`` into the venv; not a project dependency)
samples the running ``tactful serve`` at a fixed rate with ``--threads
--format raw``: one line per distinct stack, ``frame;frame;... count``.
Idle samples are left out by py-spy (and a wait in epoll, which it counts,
is dropped here).  Sampling is non-blocking so the bot is not slowed down,
which loses samples: the shares are meaningful, absolute counts are not
(``serve_load`` reports the loop's CPU time from psutil).  Each busy sample is given
to the innermost component it was in (store, LLM client, Slack client, ...),
and those inside Bolt's dispatch are also counted as the ack path.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

# Checked on each frame; the innermost frame that matches names the component.
COMPONENTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "store (app/store, SQLAlchemy, aiosqlite)",
        re.compile(r"\((app/store|sqlalchemy|aiosqlite)/"),
    ),
    ("LLM client (app/llm, openai, httpx)", re.compile(r"\((app/llm|openai|httpx|httpcore)/")),
    ("drafting pipeline (app/domain, app/playbook)", re.compile(r"\(app/(domain|playbook)/")),
    ("Slack Web API client (slack_sdk)", re.compile(r"\(slack_sdk/")),
    ("Block Kit cards (app/slack/blocks, text)", re.compile(r"\(app/slack/(blocks|text)\.py")),
    ("Bolt (verification, routing)", re.compile(r"\(slack_bolt/")),
    ("logging (structlog, logging)", re.compile(r"\((structlog|logging)/|\(app/logs\.py")),
    ("module imports", re.compile(r"<frozen importlib")),
)
_ACK_PATH = re.compile(r"async_dispatch \(slack_bolt/")
_MAIN_ROOT = re.compile(r"\(tactful\)|\(app/cli\.py")
# py-spy --threads starts each stack with its thread; a stack it could not walk to its
# root (the event loop) is still the main thread's.
_THREAD = re.compile(r"^thread \(\d+\): (?P<name>.*)$")
_APP_FRAME = re.compile(r"\(app/")
_IDLE = re.compile(r"^(EpollSelector\.select|_PollLikeSelector\.select) \(selectors\.py")
_OTHER = "event loop, aiohttp server, other"


@dataclass
class StackSummary:
    main_samples: int
    other_thread_samples: int
    by_component: Counter[str]
    ack_path: int
    top_app_frames: list[tuple[str, int]]
    top_leaves: list[tuple[str, int]]  # innermost frames, any package: where the CPU itself goes

    def print(self, *, rate_hz: int, seconds: float) -> None:
        print(
            f"  py-spy over {seconds:.1f} s at {rate_hz} Hz: {self.main_samples} busy samples of "
            f"the main thread, {self.other_thread_samples} of other threads; "
            "non-blocking sampling misses many, so read shares here and CPU time above"
        )
        for name, count in self.by_component.most_common():
            print(f"    {count / max(1, self.main_samples):6.1%}  {name}")
        print(
            f"    of all main-thread samples, inside Bolt's dispatch (the ack path): "
            f"{self.ack_path / max(1, self.main_samples):.1%}"
        )
        print("  hottest app/ functions on the main thread (inclusive):")
        for frame, count in self.top_app_frames:
            print(f"    {count / max(1, self.main_samples):6.1%}  {frame}")
        print("  hottest functions on the main thread (self):")
        for frame, count in self.top_leaves:
            print(f"    {count / max(1, self.main_samples):6.1%}  {frame}")


def _component(frames: list[str]) -> str:
    for frame in reversed(frames):
        for name, pattern in COMPONENTS:
            if pattern.search(frame):
                return name
    return _OTHER


def _short(frame: str) -> str:
    """``func (path/app/x.py:12)`` -> ``func (app/x.py)``: one entry per function."""
    return re.sub(r"\(([^():]+):\d+\)", r"(\1)", frame)


def summarize(path: Path, *, top: int = 12) -> StackSummary:
    by_component: Counter[str] = Counter()
    app_frames: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    main = other = ack = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count, frames = int(count_text), stack.split(";")
        thread = _THREAD.match(frames[0])
        on_main = (
            thread.group("name").startswith("MainThread")
            if thread
            else any(_MAIN_ROOT.search(f) for f in frames[:6])
        )
        if not on_main:
            other += count
            continue
        if _IDLE.search(frames[-1]):
            continue  # py-spy counts a thread waiting in epoll as active; it is not
        main += count
        by_component[_component(frames)] += count
        leaves[_short(frames[-1])] += count
        if any(_ACK_PATH.search(f) for f in frames):
            ack += count
        for frame in {_short(f) for f in frames if _APP_FRAME.search(f) and "app/cli.py" not in f}:
            app_frames[frame] += count
    return StackSummary(
        main, other, by_component, ack, app_frames.most_common(top), leaves.most_common(top)
    )

"""``tactful`` under cProfile that records only from SIGUSR1 on: the burst, not start-up.

Run as ``python bench/profiled_serve.py STATS_FILE serve ...``; ``burst_compare
--cprofile`` sends SIGUSR1 just before the first complaint.  The stats are written
when the bot exits (SIGTERM), like ``python -m cProfile -o`` does.
"""

from __future__ import annotations

import atexit
import cProfile
import signal
import sys
from types import FrameType


def main() -> None:
    stats_file, sys.argv = sys.argv[1], [sys.argv[0], *sys.argv[2:]]
    profile = cProfile.Profile()

    def begin(signum: int, frame: FrameType | None) -> None:
        profile.enable()

    def write() -> None:
        profile.disable()
        profile.dump_stats(stats_file)

    signal.signal(signal.SIGUSR1, begin)
    atexit.register(write)
    from app.cli import main as tactful

    tactful()


if __name__ == "__main__":
    main()

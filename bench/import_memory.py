"""What a serving process holds before its first complaint, library by library.

Issue 8 asks for a peak RSS of at most 120 MB in the 200-complaint burst.
Nearly all of what ``tactful serve`` holds when it is ready is imported code;
this prints, in a fresh interpreter, the RSS each step of imports adds: the
naive bot's own (aiohttp, Bolt, the OpenAI SDK), then each library the
project's standards require or prefer, then tactful's modules.  A step counts
what it is the first to import, so the order matters and is the one above.

Run from the repository root::

    .venv/bin/python -m bench.import_memory [--budget 120]

Megabytes are 2**20 bytes, as ``burst_compare`` judges the goal by.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from bench.burst_report import PEAK_RSS_MB

MB = 2**20  # as burst_compare counts the goal's megabytes

# (label, modules): imported in this order, each step's RSS growth is its cost.
STEPS: list[tuple[str, list[str]]] = [
    ("the naive bot's imports (aiohttp, Bolt, slack_sdk, OpenAI SDK)", ["bench.naive_bot"]),
    ("SQLAlchemy Core, SQLite dialect, aiosqlite",
     ["sqlalchemy", "sqlalchemy.dialects.sqlite.aiosqlite", "aiosqlite"]),
    ("SQLAlchemy's asyncio extension (imports the ORM)", ["sqlalchemy.ext.asyncio"]),
    ("structlog (imports rich when it is installed)", ["structlog"]),
    ("typer", ["typer"]),
    ("jinja2 sandbox, PyYAML", ["jinja2.sandbox", "yaml"]),
    ("prometheus-client, pydantic-settings, tenacity",
     ["prometheus_client", "pydantic_settings", "tenacity"]),
    ("phonenumbers, python-stdnum, google-re2", ["phonenumbers", "stdnum", "re2"]),
    # What `tactful serve` imports before it starts (as tests/test_serve_footprint.py).
    ("tactful's own modules (and what only they import)",
     ["app.cli", "app.logs", "app.slack.server", "app.slack.socket_mode", "app.store"]),
]

_CHILD = """
import gc, importlib, json, sys
def rss():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096
steps = json.loads(sys.argv[1])
out = [["the interpreter itself", rss()]]
for label, modules in steps:
    before = rss()
    for module in modules:
        importlib.import_module(module)
    gc.collect()
    out.append([label, rss() - before])
print(json.dumps(out))
"""


def measure() -> list[tuple[str, int]]:
    """Each step's RSS growth in bytes, measured in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(STEPS)],
        check=True, capture_output=True, text=True, timeout=120,
    )
    return [(label, int(size)) for label, size in json.loads(done.stdout)]


def report(steps: list[tuple[str, int]], budget_mb: float) -> str:
    lines = [f"{'':62}{'adds':>9}{'held':>9}"]
    held = 0
    for label, size in steps:
        held += size
        lines.append(f"{label:62}{size / MB:7.1f} MB{held / MB:6.1f} MB")
    own = steps[-1][1]
    libraries = held - own
    orm = dict(steps)["SQLAlchemy's asyncio extension (imports the ORM)"]
    lines += [
        "",
        f"held before any tactful code: {libraries / MB:.1f} MB; with it: {held / MB:.1f} MB",
        f"left of a {budget_mb:.0f} MB budget for start-up and a burst: "
        f"{budget_mb - held / MB:.1f} MB "
        f"({budget_mb - (held - orm) / MB:.1f} MB with a store that never imports the ORM)",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--budget", type=float, default=float(PEAK_RSS_MB), help="peak RSS goal, MB"
    )
    options = parser.parse_args(argv)
    print(report(measure(), options.budget))


if __name__ == "__main__":
    main()

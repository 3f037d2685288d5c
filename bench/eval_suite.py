"""Issue 11's benchmark: `tactful eval` on 50 cases against a fake model that takes 1 s per call.

The fake OpenAI (``tests/fakes/openai_api.py``) runs as its own process on
127.0.0.1 with ``--latency 1``; ``tactful eval`` runs as a real command in
another, exactly as a manager or CI would start it, so the wall time covers
start-up, loading and validating the cases and the playbook, every draft
through the real pipeline and LLM client, scoring and the report.  The 50
cases are the shipped ``evals/`` cases, repeated under new ids.  The fake's
``/_fake/stats`` says how many requests came and how many overlapped.

Run from the repository root::

    .venv/bin/python -m bench.eval_suite                    # 50 cases, concurrency 8
    .venv/bin/python -m bench.eval_suite --concurrency 16
    .venv/bin/python -m bench.eval_suite --compare          # --compare prompts/: 100 drafts
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
GOAL_S = 15.0


def write_cases(target: Path, count: int) -> None:
    shipped = sorted((ROOT / "evals").rglob("*.yaml"))
    for index, path in zip(range(count), itertools.cycle(shipped), strict=False):
        case = yaml.safe_load(path.read_text(encoding="utf-8"))
        case["id"] = f"{case['id']}-{index:03d}"
        (target / f"{case['id']}.yaml").write_text(
            yaml.safe_dump(case, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )


def start_fake(latency: float) -> tuple[subprocess.Popen[str], str]:
    fake = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fakes.openai_api",
            "--port",
            "0",
            "--print-url",
            "--latency",
            str(latency),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert fake.stdout is not None
    url = fake.stdout.readline().strip()
    if not url.startswith("http"):
        fake.kill()
        raise SystemExit(f"the fake OpenAI did not start (got {url!r})")
    return fake, url


async def engine_only(cases: Path, env: dict[str, str], concurrency: int) -> float:
    """Wall time of ``run_suites`` on the same cases and fake, without the command around it."""
    import importlib

    from app.evals.cases import load_cases
    from app.evals.prompt_sets import PromptSet
    from app.evals.runner import run_suites
    from app.llm import LLMClient, LLMConfig

    importlib.import_module("openai.resources.chat")  # as `tactful eval` does before timing
    loaded = load_cases(cases)
    prompts = PromptSet("prompts", ROOT / "prompts")
    config = LLMConfig(api_key=env["OPENAI_API_KEY"], base_url=env["OPENAI_BASE_URL"])
    async with LLMClient(config) as llm:
        started = time.perf_counter()
        await run_suites(llm, [prompts], loaded, concurrency=concurrency)
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=50)
    parser.add_argument("--latency", type=float, default=1.0, help="seconds per model call")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--compare", action="store_true", help="also draft with prompts/ as REF")
    options = parser.parse_args()
    fake, url = start_fake(options.latency)
    try:
        with tempfile.TemporaryDirectory(prefix="tactful-bench-") as scratch:
            cases = Path(scratch) / "cases"
            cases.mkdir()
            write_cases(cases, options.cases)
            env = {
                **os.environ,
                "OPENAI_BASE_URL": url if url.endswith("/v1") else f"{url}/v1",
                "OPENAI_API_KEY": "sk-bench",
                "TACTFUL_PROMPTS_DIR": str(ROOT / "prompts"),
                "TACTFUL_DATABASE_URL": f"sqlite:///{scratch}/bench.db",
            }
            command = [
                str(Path(sys.executable).with_name("tactful")),
                "eval",
                str(cases),
                "--concurrency",
                str(options.concurrency),
                "--json",
                "--html",
                str(Path(scratch) / "report.html"),
            ]
            if options.compare:
                command += ["--compare", str(ROOT / "prompts")]
            started = time.perf_counter()
            subprocess.run(command[:1] + ["--help"], env=env, capture_output=True, check=True)
            start_up = time.perf_counter() - started
            engine = asyncio.run(engine_only(cases, env, options.concurrency))
            started = time.perf_counter()
            done = subprocess.run(
                command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
            )
            wall = time.perf_counter() - started
            with urllib.request.urlopen(f"{url.removesuffix('/v1')}/_fake/stats") as answer:
                stats = json.load(answer)
    finally:
        fake.terminate()
        fake.wait(timeout=10)
    if done.returncode not in (0, 1):
        raise SystemExit(f"tactful eval failed ({done.returncode}):\n{done.stderr[-3000:]}")
    report = json.loads(done.stdout[done.stdout.index("{") :])
    suite = report["suites"][-1]
    passed = sum(case["passed"] for case in suite["cases"])
    errors = sum(case["error"] is not None for case in suite["cases"])
    drafts = options.cases * (2 if options.compare else 1)
    floor = -(-drafts // options.concurrency) * options.latency
    print(
        f"cases {options.cases}, drafts {drafts}, model latency {options.latency:g} s, "
        f"concurrency {options.concurrency}"
    )
    print(
        f"wall time {wall:.2f} s (goal < {GOAL_S:g} s: {'met' if wall < GOAL_S else 'MISSED'}); "
        f"latency floor {floor:.0f} s; load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"of which inside the run (drafting and scoring, after start-up): {report['seconds']:.2f} s"
    )
    print(f"start-up of the tactful command alone (tactful --help): {start_up:.2f} s")
    print(f"the eval engine alone (run_suites in this process, same fake): {engine:.2f} s")
    print(
        f"model requests {stats['requests']} (both runs), most in flight {stats['max_in_flight']}, "
        f"errors {errors}, cases passing every expectation {passed}/{options.cases} "
        "(the fake model answers every case the same way)"
    )


if __name__ == "__main__":
    main()

"""How much personal data ``redact`` catches on the corpus, what it wrongly takes, and its cost.

Reads ``tests/fixtures/pii_corpus.yaml`` (realistic messages in English,
French, German, Spanish and Italian, each listing its personal items by kind
and the strings that must survive) and prints, per kind, how many items were
fully covered by a redacted span (recall), then how many must-survive
strings were touched (false positives), then the time ``redact`` takes on a
2 KB message and on 40,000 pathological characters.

Run from the repository root::

    .venv/bin/python -m bench.redaction_recall
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from app.domain.redact import KINDS, personal_data, redact

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "pii_corpus.yaml"

PATHOLOGICAL = {
    '"a%" * N + " @"': "a%" * 20_000 + " @",
    '"1 " * N': "1 " * 20_000,
    '"000 " * N': "000 " * 10_000,
    '"(1)" * N': "(1)" * 13_333,
    '"12 rue " * N': "12 rue " * 5_714,
    '"DE89 " * N': "DE89 " * 8_000,
    "phones, comma-separated": "06 12 34 56 78, " * 2_500,
    "mixed scripts": "é1ア@٣" * 8_000,
}


def _occurrences(text: str, item: str) -> list[tuple[int, int]]:
    found, start = [], text.find(item)
    while start >= 0:
        found.append((start, start + len(item)))
        start = text.find(item, start + 1)
    return found


def score(corpus: list[dict[str, Any]]) -> tuple[Counter[str], Counter[str], list[str]]:
    """(items per kind, items caught per kind, descriptions of misses and false positives)."""
    total: Counter[str] = Counter()
    caught: Counter[str] = Counter()
    problems: list[str] = []
    for message in corpus:
        text = message["text"]
        covered = bytearray(len(text))
        for span in personal_data(text):
            covered[span.start : span.end] = b"\x01" * (span.end - span.start)
        expected = [
            (kind, item)
            for section in ("personal", "known_misses")
            for kind, items in (message.get(section) or {}).items()
            for item in items
        ]
        for kind, item in expected:
            places = _occurrences(text, item)
            total[kind] += 1
            if places and all(
                covered[i] or text[i].isspace() for s, e in places for i in range(s, e)
            ):
                caught[kind] += 1
            else:
                problems.append(f"missed  {message['id']}: {kind} {item!r}")
        for item in message.get("keep") or []:
            if any(any(covered[s:e]) for s, e in _occurrences(text, item)):
                problems.append(f"touched {message['id']}: {item!r}")
    return total, caught, problems


def _per_call_ms(text: str, runs: int) -> float:
    started = time.perf_counter()
    for _ in range(runs):
        redact(text)
    return (time.perf_counter() - started) / runs * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    args = parser.parse_args()
    corpus = yaml.safe_load(args.corpus.read_text(encoding="utf-8"))

    total, caught, problems = score(corpus)
    print(f"{len(corpus)} messages, {sum(total.values())} personal items\n")
    print(f"{'kind':<12} {'items':>5} {'caught':>6} {'recall':>7}")
    for kind in KINDS:
        if total[kind]:
            print(
                f"{kind:<12} {total[kind]:>5} {caught[kind]:>6} {caught[kind] / total[kind]:>7.0%}"
            )
    overall = sum(caught.values()) / max(1, sum(total.values()))
    print(f"{'all':<12} {sum(total.values()):>5} {sum(caught.values()):>6} {overall:>7.0%}")
    false_positives = sum(1 for p in problems if p.startswith("touched"))
    print(f"\nfalse positives (must-survive strings touched): {false_positives}")
    for problem in problems:
        print("  " + problem)

    longest = max((m["text"] for m in corpus), key=len)
    two_kb = (longest * (2048 // len(longest) + 1))[:2048]
    print("\nredact() per call")
    print(f"  {'2 KB message (corpus text, repeated)':<40} {_per_call_ms(two_kb, 200):8.2f} ms")
    for name, text in PATHOLOGICAL.items():
        print(f"  {name + f' ({len(text):,} chars)':<40} {_per_call_ms(text, 3):8.2f} ms")


if __name__ == "__main__":
    main()

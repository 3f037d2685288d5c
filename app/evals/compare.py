"""Two runs of the same cases side by side, and the gate: what the new prompts broke.

A regression is an expectation of a case that the old prompt set passed and
the new one fails (a failed model call fails every expectation of its case).
That, and only that, makes ``tactful eval --compare`` exit non-zero; the
rubric never counts.  Each changed draft is shown as a unified diff, one
sentence per line, so a reworded sentence reads as one change.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from app.evals.runner import CaseRun, SuiteRun

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


@dataclass(frozen=True)
class Change:
    """One expectation of one case that flipped between the runs."""

    case_id: str
    check: str
    detail: str


@dataclass(frozen=True)
class DraftDiff:
    case_id: str
    diff: list[str]


@dataclass(frozen=True)
class Comparison:
    old: SuiteRun
    new: SuiteRun

    def pairs(self) -> list[tuple[CaseRun, CaseRun]]:
        old = self.old.by_id()
        return [(old[run.case.id], run) for run in self.new.runs if run.case.id in old]

    def regressions(self) -> list[Change]:
        """Expectations the old set passed and the new one fails: what gates."""
        return self._flips(was=True)

    def fixes(self) -> list[Change]:
        """Expectations the old set failed and the new one passes."""
        return self._flips(was=False)

    def _flips(self, *, was: bool) -> list[Change]:
        flips = []
        for before, after in self.pairs():
            for check in after.checks:
                earlier = before.check(check.name)
                if earlier is not None and earlier.passed == was and check.passed != was:
                    detail = check.detail if was else earlier.detail
                    flips.append(Change(after.case.id, check.name, detail))
        return flips

    def diffs(self) -> list[DraftDiff]:
        """Each case whose draft text changed, as a unified diff (old set first)."""
        found = []
        for before, after in self.pairs():
            if before.text == after.text:
                continue
            lines = difflib.unified_diff(
                sentences(before.text),
                sentences(after.text),
                fromfile=f"{self.old.label} {before.case.id}",
                tofile=f"{self.new.label} {after.case.id}",
                lineterm="",
                n=1,
            )
            found.append(DraftDiff(after.case.id, list(lines)))
        return found


def sentences(text: str) -> list[str]:
    return [part for part in _SENTENCE_END.split(text.strip()) if part]

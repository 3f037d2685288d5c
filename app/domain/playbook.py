"""The playbook: prompt files, offer catalog and guardrail list, loaded as one.

Managers edit these files in git.  They are loaded together so a draft always
comes from one consistent set, stamped with one version (a content hash).
``PlaybookSource`` reloads the directory when a file changes; a set with any
bad file is reported (file and line) and never served, and the last good one
keeps running.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import structlog

from app.domain.guardrails import GuardrailPolicy
from app.domain.offers import OfferCatalog
from app.prompting import PromptLibrary, check_examples, content_version
from app.prompting.errors import PromptError, PromptSetError

log = structlog.get_logger(__name__)

CATALOG_FILE = "offers.yaml"
GUARDRAILS_FILE = "guardrails.yaml"


@dataclass(frozen=True)
class Playbook:
    prompts: PromptLibrary
    catalog: OfferCatalog
    policy: GuardrailPolicy
    version: str
    directory: Path


def load_playbook(directory: Path) -> Playbook:
    """Load and validate every file; raise ``PromptSetError`` listing all problems."""
    if not directory.is_dir():
        raise PromptSetError(
            [PromptError(directory, None, "prompts directory not found (set TACTFUL_PROMPTS_DIR)")]
        )
    errors: list[PromptError] = []
    prompts = catalog = policy = None
    try:
        prompts = PromptLibrary.load(directory)
        errors.extend(check_examples(prompts))
    except PromptSetError as exc:
        errors.extend(exc.errors)
    try:
        catalog = OfferCatalog.load(directory / CATALOG_FILE)
    except PromptError as exc:
        errors.append(exc)
    try:
        policy = GuardrailPolicy.load(directory / GUARDRAILS_FILE)
    except PromptError as exc:
        errors.append(exc)
    if errors or prompts is None or catalog is None or policy is None:
        raise PromptSetError(errors)
    return Playbook(prompts, catalog, policy, content_version(directory), directory)


class PlaybookSource:
    """Serves the current good playbook, reloading when the files change.

    The check costs one ``stat`` per file and runs at most every
    ``check_every_s`` seconds, so it can sit on the drafting path.
    """

    def __init__(self, directory: Path, *, check_every_s: float = 2.0) -> None:
        self._directory = directory
        self._check_every_s = check_every_s
        self._current = load_playbook(directory)
        self._stamp = self._fingerprint()
        self._checked_at = time.monotonic()
        self.last_errors: list[PromptError] = []

    def current(self) -> Playbook:
        now = time.monotonic()
        if now - self._checked_at >= self._check_every_s:
            self._checked_at = now
            stamp = self._fingerprint()
            if stamp != self._stamp:
                self._stamp = stamp
                self._reload()
        return self._current

    def _reload(self) -> None:
        try:
            fresh = load_playbook(self._directory)
        except PromptSetError as exc:
            self.last_errors = exc.errors
            for error in exc.errors:
                log.error("prompt_file_rejected", error=str(error), serving=self._current.version)
            return
        self.last_errors = []
        if fresh.version != self._current.version:
            log.info("playbook_reloaded", old=self._current.version, new=fresh.version)
        self._current = fresh

    def _fingerprint(self) -> tuple[tuple[str, int, int], ...]:
        files = sorted(p for p in self._directory.glob("*") if p.is_file())
        return tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in files)

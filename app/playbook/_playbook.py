"""The playbook: prompt files, offer catalog and guardrail list, loaded as one, and reloaded.

Managers edit these files in git.  They are loaded together from one read of
the directory, so a draft always comes from one consistent set, stamped with
one version (the hash of exactly the bytes parsed).  ``PlaybookSource``
reloads the directory when a file changes; a set with any bad file is
reported (file and line) and never served, and the last good one keeps
running.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import structlog

from app.domain.guardrails import GuardrailPolicy
from app.domain.offers import OfferCatalog
from app.domain.ports import RenderedPrompt
from app.playbook._errors import PromptError, PromptSetError
from app.playbook._files import hash_files, is_versioned, read_versioned_files
from app.playbook._library import PromptLibrary, directory_not_found
from app.playbook._yaml_files import (
    CATALOG_FILE,
    GUARDRAILS_FILE,
    load_guardrail_policy,
    load_offer_catalog,
)

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Playbook:
    """One good set of files; satisfies ``app.domain.ports.PlaybookView``."""

    prompts: PromptLibrary
    catalog: OfferCatalog
    policy: GuardrailPolicy
    version: str
    directory: Path

    def render(
        self, name: str, *, system: Mapping[str, object], user: Mapping[str, object]
    ) -> RenderedPrompt:
        return self.prompts.render(name, system=system, user=user)


def load_playbook(directory: Path) -> Playbook:
    """Load and validate every file; raise ``PromptSetError`` listing all problems."""
    if not directory.is_dir():
        raise PromptSetError([directory_not_found(directory)])
    files = read_versioned_files(directory)
    errors: list[PromptError] = []
    prompts = catalog = policy = None
    try:
        prompts = PromptLibrary.from_files(directory, files)
    except PromptSetError as exc:
        errors.extend(exc.errors)
    try:
        catalog = load_offer_catalog(directory / CATALOG_FILE, files.get(CATALOG_FILE))
    except PromptSetError as exc:
        errors.extend(exc.errors)
    try:
        policy = load_guardrail_policy(directory / GUARDRAILS_FILE, files.get(GUARDRAILS_FILE))
    except PromptSetError as exc:
        errors.extend(exc.errors)
    if errors or prompts is None or catalog is None or policy is None:
        raise PromptSetError(errors)
    return Playbook(prompts, catalog, policy, hash_files(files), directory)


Stamp = tuple[tuple[str, int, int], ...]


class PlaybookSource:
    """Serves the current good playbook, reloading when the files change.

    The check costs one ``stat`` per file and runs at most every
    ``check_every_s`` seconds, so it can sit on the drafting path.
    """

    def __init__(self, directory: Path, *, check_every_s: float = 2.0) -> None:
        self._directory = directory
        self._check_every_s = check_every_s
        # Stamped before loading: an edit made while loading is seen at the next check.
        self._stamp = self._fingerprint()
        self._current = load_playbook(directory)
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

    def _fingerprint(self) -> Stamp:
        stamp = []
        try:
            paths = sorted(p for p in self._directory.iterdir() if is_versioned(p))
        except OSError:
            return ()  # the reload then reports why the directory cannot be read
        for path in paths:
            try:
                info = path.stat()
            except OSError:
                continue  # deleted between listing and stat: the next check sees it gone
            stamp.append((path.name, info.st_mtime_ns, info.st_size))
        return tuple(stamp)

"""The playbook: prompt files, offer catalog and guardrail list, loaded as one, and reloaded.

Managers edit these files in git.  They are loaded together from one read of
the directory, so a draft always comes from one consistent set, stamped with
one version (the hash of exactly the bytes parsed).  ``PlaybookSource``
reloads the directory when a file changes; a set with any bad file is
reported (file and line) and never served, and the last good one keeps
running.

A named playbook (``prompts/playbooks.yaml``, see ``_routing``) may live in a
folder of its own holding only the files it changes: every file it lacks is
inherited from the base ``prompts/`` folder, and both folders are watched.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

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


DEFAULT_PLAYBOOK = "default"


@dataclass(frozen=True)
class PlaybookSettings:
    """What ``playbooks.yaml`` says of one playbook beyond its files."""

    name: str = DEFAULT_PLAYBOOK
    default_tone: str | None = None
    sign_off_name: str | None = None
    kind: Literal["customer", "relay"] = "customer"

    def stamp(self) -> bytes:
        """These settings as bytes, hashed into the version: changing them is a new version."""
        return f"{self.default_tone}\0{self.sign_off_name}\0{self.kind}".encode()


@dataclass(frozen=True)
class Playbook:
    """One good set of files; satisfies ``app.domain.ports.PlaybookView``."""

    prompts: PromptLibrary
    catalog: OfferCatalog
    policy: GuardrailPolicy
    version: str
    directory: Path
    settings: PlaybookSettings = field(default_factory=PlaybookSettings)

    @property
    def name(self) -> str:
        return self.settings.name

    @property
    def default_tone(self) -> str | None:
        return self.settings.default_tone

    @property
    def sign_off_name(self) -> str | None:
        return self.settings.sign_off_name

    def render(
        self, name: str, *, system: Mapping[str, object], user: Mapping[str, object]
    ) -> RenderedPrompt:
        return self.prompts.render(name, system=system, user=user)


def load_playbook(
    directory: Path,
    *,
    inherit_from: Path | None = None,
    settings: PlaybookSettings | None = None,
) -> Playbook:
    """Load and validate every file; raise ``PromptSetError`` listing all problems.

    With ``inherit_from``, a file missing from ``directory`` is read from there.
    """
    settings = settings or PlaybookSettings()
    base = inherit_from if inherit_from is not None and inherit_from != directory else None
    for folder in (directory, base):
        if folder is not None and not folder.is_dir():
            raise PromptSetError([directory_not_found(folder)])
    own = read_versioned_files(directory)
    files = {**read_versioned_files(base), **own} if base is not None else own
    errors: list[PromptError] = []
    prompts = catalog = policy = None

    def where(name: str) -> Path:
        return (directory if base is None or name in own else base) / name

    try:
        prompts = PromptLibrary.from_files(
            directory, files, paths={name: where(name) for name in files}
        )
    except PromptSetError as exc:
        errors.extend(exc.errors)
    try:
        catalog = load_offer_catalog(where(CATALOG_FILE), files.get(CATALOG_FILE))
    except PromptSetError as exc:
        errors.extend(exc.errors)
    try:
        policy = load_guardrail_policy(where(GUARDRAILS_FILE), files.get(GUARDRAILS_FILE))
    except PromptSetError as exc:
        errors.extend(exc.errors)
    if errors or prompts is None or catalog is None or policy is None:
        raise PromptSetError(errors)
    version_of = (
        files
        if settings.stamp() == PlaybookSettings().stamp()
        else {**files, "\0": settings.stamp()}
    )
    return Playbook(prompts, catalog, policy, hash_files(version_of), directory, settings)


Stamp = tuple[tuple[str, int, int], ...]


class PlaybookSource:
    """Serves the current good playbook, reloading when the files change.

    The check costs one ``stat`` per file and runs at most every
    ``check_every_s`` seconds, so it can sit on the drafting path.
    """

    def __init__(
        self,
        directory: Path,
        *,
        check_every_s: float = 2.0,
        inherit_from: Path | None = None,
        settings: PlaybookSettings | None = None,
    ) -> None:
        self._directory = directory
        self._check_every_s = check_every_s
        self._inherit_from = inherit_from
        self.settings = settings or PlaybookSettings()
        # Stamped before loading: an edit made while loading is seen at the next check.
        self._stamp = self._fingerprint()
        self._current = self._load()
        self._checked_at = time.monotonic()
        self.last_errors: list[PromptError] = []

    @property
    def directory(self) -> Path:
        return self._directory

    @property
    def inherit_from(self) -> Path | None:
        return self._inherit_from

    def _load(self) -> Playbook:
        return load_playbook(
            self._directory, inherit_from=self._inherit_from, settings=self.settings
        )

    def current(self, channel_id: str | None = None, *, force: bool = False) -> Playbook:
        """The playbook; one source serves the same one to every channel (``channel_id``).

        ``force`` looks at the files now instead of at most every ``check_every_s``.
        """
        now = time.monotonic()
        if force or now - self._checked_at >= self._check_every_s:
            self._checked_at = now
            stamp = self._fingerprint()
            if stamp != self._stamp:
                self._stamp = stamp
                self._reload()
        return self._current

    def _reload(self) -> None:
        try:
            fresh = self._load()
        except PromptSetError as exc:
            self.last_errors = exc.errors
            for error in exc.errors:
                log.error(
                    "prompt_file_rejected",
                    playbook=self.settings.name,
                    error=str(error),
                    serving=self._current.version,
                )
            return
        self.last_errors = []
        if fresh.version != self._current.version:
            log.info(
                "playbook_reloaded",
                playbook=self.settings.name,
                old=self._current.version,
                new=fresh.version,
            )
        self._current = fresh

    def _fingerprint(self) -> Stamp:
        stamp = []
        folders = [self._directory]
        if self._inherit_from is not None and self._inherit_from != self._directory:
            folders.append(self._inherit_from)
        try:
            paths = [p for folder in folders for p in sorted(folder.iterdir()) if is_versioned(p)]
        except OSError:
            return ()  # the reload then reports why the directory cannot be read
        for path in paths:
            try:
                info = path.stat()
            except OSError:
                continue  # deleted between listing and stat: the next check sees it gone
            stamp.append((str(path), info.st_mtime_ns, info.st_size))
        return tuple(stamp)

"""Per-channel playbooks: ``prompts/playbooks.yaml`` says which playbook serves which channel.

The mapping names each playbook, its folder, the support channels it serves,
its default tone and the name a reply is signed with; one playbook is the
default for every other channel. A playbook folder holds only the files it
changes (``brand-voice.md``, ``offers.yaml``, ``guardrails.yaml``, a prompt
file) and inherits the rest from ``prompts/``. Without the mapping file the
whole of ``prompts/`` is the one default playbook, as before.

``PlaybookRouter`` keeps one ``PlaybookSource`` per playbook, so each reloads
on its own and keeps its last good version while a new one is broken. The
mapping file reloads the same way: a broken or inconsistent mapping is
reported and the last good routing keeps running.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Literal

import structlog
from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.playbook._errors import PromptError, PromptSetError
from app.playbook._files import MAPPING_FILE, decode_text, read_bytes
from app.playbook._playbook import (
    DEFAULT_PLAYBOOK,
    Playbook,
    PlaybookSettings,
    PlaybookSource,
    load_playbook,
)
from app.playbook._yaml import YamlDocument, parse_yaml

log = structlog.get_logger(__name__)

_NAME = r"^[a-z0-9][a-z0-9_-]{0,31}$"
_CHANNEL = r"^[CG][A-Z0-9]{2,}$"


class PlaybookEntry(BaseModel):
    """One playbook in ``playbooks.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dir: str = Field(
        ".", min_length=1, description="a folder inside prompts/, such as playbooks/enterprise"
    )
    channels: list[str] = Field(default_factory=list)
    kind: Literal["customer", "relay"] = "customer"
    default_tone: str | None = Field(None, min_length=1, max_length=200)
    sign_off_name: str | None = Field(None, min_length=1, max_length=80)

    @field_validator("dir")
    @classmethod
    def _inside_prompts(cls, value: str) -> str:
        path = PurePosixPath(value)
        if path.is_absolute() or ".." in path.parts or "\\" in value:
            raise ValueError(f"'{value}' must be a folder inside prompts/, written with /")
        return value

    @field_validator("channels")
    @classmethod
    def _channel_ids(cls, value: list[str]) -> list[str]:
        for channel in value:
            if not re.match(_CHANNEL, channel):
                raise ValueError(
                    f"'{channel}' is not a channel ID (like C0123ABCD): copy it from the "
                    "channel's details in Slack"
                )
        return value

    def settings(self, name: str) -> PlaybookSettings:
        return PlaybookSettings(name, self.default_tone, self.sign_off_name, self.kind)


class PlaybookMap(BaseModel):
    """The whole ``playbooks.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default: str = Field(pattern=_NAME, description="the name of one of the playbooks below")
    playbooks: dict[str, PlaybookEntry] = Field(min_length=1)


# No playbooks.yaml: all of prompts/ is the one default playbook, as before the file existed.
_SINGLE = PlaybookMap.model_validate(
    {"default": DEFAULT_PLAYBOOK, "playbooks": {DEFAULT_PLAYBOOK: {}}}
)


def load_mapping(prompts_dir: Path) -> PlaybookMap:
    """The mapping in ``prompts_dir``; today's single playbook when there is no file.

    Raises ``PromptSetError`` with every problem at its file and line.
    """
    path = prompts_dir / MAPPING_FILE
    if not path.exists():
        return _SINGLE
    try:
        document = parse_yaml(path, decode_text(path, read_bytes(path)))
    except PromptError as exc:
        raise PromptSetError([exc]) from None
    mapping = document.validate(PlaybookMap)
    errors = _inconsistencies(document, mapping, prompts_dir)
    if errors:
        raise PromptSetError(errors)
    return mapping


def _inconsistencies(
    document: YamlDocument, mapping: PlaybookMap, prompts_dir: Path
) -> list[PromptError]:
    """What pydantic cannot see: names, the default, channels served twice, missing folders."""
    errors = []
    names = ", ".join(mapping.playbooks)
    if mapping.default not in mapping.playbooks:
        errors.append(
            document.error(
                ("default",),
                f"default names '{mapping.default}', which is not a playbook below",
                f"use one of {names}",
            )
        )
    served_by: dict[str, str] = {}
    for name, entry in mapping.playbooks.items():
        if not re.match(_NAME, name):
            errors.append(
                document.error(
                    ("playbooks", name),
                    f"playbook name '{name}' is not allowed",
                    "use lower-case letters, digits, - and _ (up to 32)",
                )
            )
        if not (prompts_dir / entry.dir).is_dir():
            errors.append(
                document.error(
                    ("playbooks", name, "dir"),
                    f"folder '{entry.dir}' not found in {prompts_dir}",
                    "create it, or fix the path (relative to the prompts folder)",
                )
            )
        for index, channel in enumerate(entry.channels):
            first = served_by.setdefault(channel, name)
            if first != name:
                errors.append(
                    document.error(
                        ("playbooks", name, "channels", index),
                        f"channel {channel} is already served by playbook '{first}'",
                        "map each channel to one playbook",
                    )
                )
    return errors


def _source(
    prompts_dir: Path, name: str, entry: PlaybookEntry, check_every_s: float
) -> PlaybookSource:
    return PlaybookSource(
        prompts_dir / entry.dir,
        check_every_s=check_every_s,
        inherit_from=prompts_dir,
        settings=entry.settings(name),
    )


def _sources(
    prompts_dir: Path,
    mapping: PlaybookMap,
    check_every_s: float,
    reuse: dict[str, PlaybookSource] | None = None,
) -> dict[str, PlaybookSource]:
    """One source per playbook, reusing an unchanged one; all errors of all playbooks raised."""
    sources: dict[str, PlaybookSource] = {}
    errors: list[PromptError] = []
    for name, entry in mapping.playbooks.items():
        old = (reuse or {}).get(name)
        if (
            old is not None
            and old.directory == prompts_dir / entry.dir
            and old.settings == entry.settings(name)
        ):
            sources[name] = old
            continue
        try:
            sources[name] = _source(prompts_dir, name, entry, check_every_s)
        except PromptSetError as exc:
            errors.extend(exc.errors)
    if errors:
        raise PromptSetError(_distinct(errors))
    return sources


def _distinct(errors: Iterable[PromptError]) -> list[PromptError]:
    """Once each: a broken inherited file would otherwise be reported by every playbook."""
    seen: dict[str, PromptError] = {}
    for error in errors:
        seen.setdefault(str(error), error)
    return list(seen.values())


class PlaybookRouter:
    """The playbook for each channel, each one reloaded on its own; the last good kept.

    ``current(channel_id)`` satisfies ``app.domain.ports.PlaybookFor``: with no
    channel, or one no playbook names, it is the default playbook.
    """

    def __init__(self, prompts_dir: Path, *, check_every_s: float = 2.0) -> None:
        """Raises ``PromptSetError`` listing every problem: a bot must not start on broken files."""
        self._dir = prompts_dir
        self._check_every_s = check_every_s
        self._mapping_path = prompts_dir / MAPPING_FILE
        self._mapping_stamp = self._mapping_fingerprint()
        self._mapping = load_mapping(prompts_dir)
        self._sources = _sources(prompts_dir, self._mapping, check_every_s)
        self._by_channel = self._channels()
        self._checked_at = time.monotonic()
        self.mapping_errors: list[PromptError] = []

    def current(self, channel_id: str | None = None) -> Playbook:
        """The playbook serving ``channel_id`` (the default one when none does)."""
        self._maybe_reload_mapping()
        name = self._by_channel.get(channel_id or "", self._mapping.default)
        return self._sources[name].current()

    def named(self, name: str) -> Playbook | None:
        source = self._sources.get(name)
        return source.current() if source is not None else None

    @property
    def names(self) -> list[str]:
        return list(self._sources)

    @property
    def default_name(self) -> str:
        return self._mapping.default

    def relay_channels(self) -> frozenset[str]:
        """The channels of playbooks with ``kind: relay``: relay channels, not customer ones."""
        return frozenset(
            channel
            for entry in self._mapping.playbooks.values()
            if entry.kind == "relay"
            for channel in entry.channels
        )

    def channels(self) -> frozenset[str]:
        """Every channel some playbook names."""
        return frozenset(self._by_channel)

    @property
    def last_errors(self) -> list[PromptError]:
        """What the last reload of the mapping or of any playbook refused, file and line each."""
        errors = list(self.mapping_errors)
        for source in self._sources.values():
            errors.extend(source.last_errors)
        return _distinct(errors)

    def check(self) -> list[PromptError]:
        """Look at every file now (not waiting for the next draft); the errors being served around."""
        self._checked_at = 0.0
        self._maybe_reload_mapping()
        for source in self._sources.values():
            source.current(force=True)
        return self.last_errors

    def _channels(self) -> dict[str, str]:
        return {
            channel: name
            for name, entry in self._mapping.playbooks.items()
            for channel in entry.channels
        }

    def _maybe_reload_mapping(self) -> None:
        now = time.monotonic()
        if now - self._checked_at < self._check_every_s:
            return
        self._checked_at = now
        stamp = self._mapping_fingerprint()
        if stamp == self._mapping_stamp:
            return
        self._mapping_stamp = stamp
        try:
            mapping = load_mapping(self._dir)
            sources = _sources(self._dir, mapping, self._check_every_s, reuse=self._sources)
        except PromptSetError as exc:
            self.mapping_errors = exc.errors
            for error in exc.errors:
                log.error("playbook_mapping_rejected", error=str(error))
            return
        self.mapping_errors = []
        self._mapping, self._sources = mapping, sources
        self._by_channel = self._channels()
        log.info("playbook_mapping_reloaded", playbooks=list(sources))

    def _mapping_fingerprint(self) -> tuple[int, int] | None:
        try:
            info = self._mapping_path.stat()
        except OSError:
            return None
        return (info.st_mtime_ns, info.st_size)


def check_playbooks(prompts_dir: Path) -> tuple[list[Playbook], list[PromptError]]:
    """Every playbook the mapping names, loaded; and every problem of the mapping and of each."""
    try:
        mapping = load_mapping(prompts_dir)
    except PromptSetError as exc:
        return [], exc.errors
    books: list[Playbook] = []
    errors: list[PromptError] = []
    for name, entry in mapping.playbooks.items():
        try:
            books.append(
                load_playbook(
                    prompts_dir / entry.dir, inherit_from=prompts_dir, settings=entry.settings(name)
                )
            )
        except PromptSetError as exc:
            errors.extend(exc.errors)
    return books, PromptSetError(_distinct(errors)).errors


def load_named_playbook(prompts_dir: Path, name: str | None = None) -> Playbook:
    """The playbook ``name`` (the default one for None) as the mapping defines it.

    For the eval tool. Raises ``PromptSetError`` when the name is unknown or a file is bad.
    """
    mapping = load_mapping(prompts_dir)
    name = name or mapping.default
    entry = mapping.playbooks.get(name)
    if entry is None:
        known = ", ".join(mapping.playbooks)
        raise PromptSetError(
            [
                PromptError(
                    prompts_dir / MAPPING_FILE,
                    None,
                    f"no playbook named '{name}'",
                    f"the playbooks are {known}",
                )
            ]
        )
    return load_playbook(
        prompts_dir / entry.dir, inherit_from=prompts_dir, settings=entry.settings(name)
    )

"""The prompt sets an eval drafts with: the working directory, another one, or a git ref.

``--compare REF`` names the old set: a directory, or any git ref whose
prompts directory is read with ``git archive`` into a temporary directory
(no checkout, no network).  Within a set, each case gets the playbook it asks
for: the set itself, the set with the case's inline offer catalog, or a named
playbook, a directory inside the set.  Every playbook is loaded and validated
once per set, the way the bot loads it.

Playbooks are named as in the set's ``playbooks.yaml`` (the per-channel
mapping; without one the whole set is the one default playbook).  A name the
mapping does not know may still be a playbook directory inside the set, so a
folder can be tried before it is mapped to any channel.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import subprocess
import tarfile
import tempfile
from contextlib import ExitStack
from pathlib import Path

from app.evals.cases import LoadedCase
from app.playbook import (
    Playbook,
    PromptError,
    PromptSetError,
    load_mapping,
    load_named_playbook,
    load_playbook,
)


class PromptSet:
    """One version of the prompts directory, and the playbooks its cases resolve to."""

    def __init__(self, label: str, directory: Path) -> None:
        self.label = label
        self.directory = directory
        # The default playbook, with its default tone and sign-off, as the bot serves it.
        self.base = load_named_playbook(directory)
        self._named: dict[str, Playbook] = {}

    @property
    def version(self) -> str:
        return self.base.version

    def playbook_for(self, loaded: LoadedCase) -> Playbook:
        """The playbook ``loaded`` drafts with; ``PromptSetError`` at the case's line if none."""
        case = loaded.case
        if case.catalog is not None:
            digest = hashlib.sha256(case.catalog.model_dump_json().encode()).hexdigest()[:8]
            return dataclasses.replace(
                self.base, catalog=case.catalog, version=f"{self.base.version}+catalog-{digest}"
            )
        if case.playbook is None:
            return self.base
        if case.playbook not in self._named:
            self._named[case.playbook] = self._load_named(loaded)
        return self._named[case.playbook]

    def check(self, cases: list[LoadedCase]) -> None:
        """Resolve every case's playbook up front; raise every problem at once."""
        errors: list[PromptError] = []
        for loaded in cases:
            try:
                self.playbook_for(loaded)
            except PromptSetError as exc:
                errors.extend(exc.errors)
        if errors:
            raise PromptSetError(errors)

    def _load_named(self, loaded: LoadedCase) -> Playbook:
        name = str(loaded.case.playbook)
        mapped = load_mapping(self.directory).playbooks
        if name in mapped:
            return load_named_playbook(self.directory, name)
        directory = (self.directory / name).resolve()
        inside = directory.is_relative_to(self.directory.resolve())
        if not inside or not directory.is_dir():
            known = ", ".join(mapped) or "none"
            raise PromptSetError(
                [
                    PromptError(
                        loaded.path,
                        loaded.playbook_line,
                        f"unknown playbook '{name}': {self.label} maps no playbook of that "
                        f"name (it has {known}) and has no directory {self.directory / name}",
                        "name a playbook from playbooks.yaml or a directory inside the "
                        "prompts directory, or give the offers inline under catalog:",
                    )
                ]
            )
        return load_playbook(directory, inherit_from=self.directory)


def resolve_ref(ref: str, prompts_dir: Path, stack: ExitStack) -> Path:
    """The prompts directory as it is at ``ref``: a directory as given, or a git ref's copy.

    The copy lives in a temporary directory removed when ``stack`` closes.
    Raises ``ValueError`` saying what went wrong and what to pass instead.
    """
    as_path = Path(ref)
    if as_path.is_dir():
        return as_path
    if ref.startswith("-"):
        raise ValueError(f"--compare {ref}: not a directory nor a git ref")
    root = _git(["rev-parse", "--show-toplevel"], prompts_dir)
    if root is None:
        raise ValueError(
            f"--compare {ref}: not a directory, and {prompts_dir} is not inside a git "
            "repository; pass the old prompts directory instead"
        )
    top = Path(root.decode().strip())
    relative = prompts_dir.resolve().relative_to(top.resolve())
    archive = _git(["archive", "--format=tar", ref, "--", relative.as_posix()], top)
    if archive is None:
        raise ValueError(
            f"--compare {ref}: not a directory, and git knows no ref {ref!r} with "
            f"{relative.as_posix()}/ in it; pass a branch, tag or commit, or a directory"
        )
    target = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tactful-eval-")))
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return target / relative


def _git(args: list[str], cwd: Path) -> bytes | None:
    """The output of a read-only git command, or None when it fails."""
    try:
        done = subprocess.run(  # noqa: S603 (fixed git arguments, no shell)
            ["git", *args], cwd=cwd, capture_output=True, check=False, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None

"""The files of a playbook directory: which ones count, their bytes, their text, their version.

The version is one short hash over everything a manager edits in
``prompts/``. Each draft records it, so a reply can always be traced back to
the exact prompt files, brand voice, offer catalog and guardrail list it came
from. A playbook is parsed from the same bytes its version is computed from.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

from app.playbook._errors import PromptError, PromptSetError

VERSIONED_SUFFIXES = (".md", ".yaml", ".yml")
# Says which playbook serves which channel; each playbook's version covers its own entry.
MAPPING_FILE = "playbooks.yaml"


def is_versioned(path: Path) -> bool:
    # Hidden files are editor droppings (.#draft.prompt.md locks, backups), not content.
    return (
        path.name.endswith(VERSIONED_SUFFIXES)
        and not path.name.startswith(".")
        and path.name != MAPPING_FILE
    )


def read_versioned_files(directory: Path) -> dict[str, bytes]:
    """Name -> bytes of every visible versioned file directly in ``directory``.

    Raises ``PromptSetError`` when one cannot be read, say deleted by a
    ``git pull`` between listing and reading.
    """
    try:
        return {
            path.name: path.read_bytes()
            for path in sorted(directory.iterdir())
            if is_versioned(path) and path.is_file()
        }
    except OSError as exc:
        raise PromptSetError([_unreadable(Path(exc.filename or directory), exc)]) from None


def hash_files(files: Mapping[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        data = files[name]
        # Length-prefixed so moving bytes from one file to the next changes the hash.
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()[:12]


def content_version(directory: Path) -> str:
    """12 hex digits of sha256 over the names and bytes of every ``*.md``/``*.yaml``/``*.yml``.

    ``playbooks.yaml`` is left out: it is not part of any one playbook's files.
    """
    return hash_files(read_versioned_files(directory))


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise _unreadable(path, exc) from None


def decode_text(path: Path, data: bytes) -> str:
    """The file's text with ``\\n`` line ends; a byte-order mark is dropped."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PromptError(
            path, None, f"not UTF-8 text (bad byte at {exc.start})", "save the file as UTF-8"
        ) from None
    return text.replace("\r\n", "\n")


def _unreadable(path: Path, exc: OSError) -> PromptError:
    return PromptError(
        path, None, f"cannot read the file: {exc.strerror}", "check that it exists and is readable"
    )

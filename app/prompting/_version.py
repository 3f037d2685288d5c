"""The prompt version: one short hash over everything a manager edits in ``prompts/``.

Each draft records it, so a reply can always be traced back to the exact
prompt files, brand voice, offer catalog and guardrail list it came from.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

VERSIONED_SUFFIXES = (".md", ".yaml", ".yml")


def read_versioned_files(directory: Path) -> dict[str, bytes]:
    """Name -> bytes of every visible versioned file directly in ``directory``."""
    return {
        path.name: path.read_bytes()
        for path in sorted(directory.iterdir())
        # Hidden files are editor droppings (.#draft.prompt.md locks, backups), not content.
        if path.is_file()
        and path.name.endswith(VERSIONED_SUFFIXES)
        and not path.name.startswith(".")
    }


def hash_files(files: Mapping[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        data = files[name]
        # Length-prefixed so moving bytes from one file to the next changes the hash.
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()[:12]


def content_version(directory: Path) -> str:
    """12 hex digits of sha256 over the names and bytes of every ``*.md``/``*.yaml``/``*.yml``."""
    return hash_files(read_versioned_files(directory))

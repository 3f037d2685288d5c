"""The sandboxed Jinja environment prompt files are rendered in, and its filters.

Prompt files are edited by managers, not developers, so templates run in
Jinja's sandbox (no attribute tricks, no file access) with ``StrictUndefined``
so a misspelt variable fails loudly instead of rendering as nothing.

Two filters are added:

``bullets``
    a list as ``- a`` lines, for catalogs and categories.
``tagged("name")``
    wraps text in ``<name>`` ... ``</name>`` so the model can tell data from
    instructions: the pipeline's own ``app.domain.fencing.delimit``.
"""

from __future__ import annotations

from collections.abc import Iterable

from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from app.domain.fencing import delimit


def bullets(items: Iterable[object] | str | None) -> str:
    """``["a", "b"]`` -> ``"- a\\n- b"``; a lone string is one bullet, not one per letter."""
    if items is None:
        return ""
    if isinstance(items, str):
        items = [items]
    return "\n".join(f"- {item}" for item in items)


def build_environment() -> SandboxedEnvironment:
    """A fresh sandbox; one per loaded library so nothing is shared between reloads."""
    env = SandboxedEnvironment(
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        # A `{% if %}` on its own line should not leave a blank line behind:
        # managers write block tags on their own lines.
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["bullets"] = bullets
    env.filters["tagged"] = delimit
    return env

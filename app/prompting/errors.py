"""The one error type for anything wrong in a file a manager edits.

Prompt files, the offer catalog and the guardrail list all report problems
as ``PromptError`` so ``tactful prompts check`` and the reloader can print
``file:line: what is wrong`` the same way for each.
"""

from __future__ import annotations

from pathlib import Path


class PromptError(Exception):
    def __init__(self, path: Path | str, line: int | None, message: str) -> None:
        self.path = Path(path)
        self.line = line
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else f"{self.path}"
        return f"{where}: {self.message}"


class PromptSetError(Exception):
    """Several files failed to load; each error keeps its own file and line."""

    def __init__(self, errors: list[PromptError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))

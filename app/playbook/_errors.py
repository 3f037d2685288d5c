"""The one error type for anything wrong in a file a manager edits, and its one format.

Prompt files, the brand voice, the offer catalog and the guardrail list all
report problems as ``PromptError``, printed as ``file:line: what is wrong;
how to fix it`` by ``tactful prompts check`` and by the reloader alike.
"""

from __future__ import annotations

from pathlib import Path


class PromptError(Exception):
    """One problem at one place: ``problem`` says what is wrong, ``fix`` what to do."""

    def __init__(
        self, path: Path | str, line: int | None, problem: str, fix: str | None = None
    ) -> None:
        self.path = Path(path)
        self.line = line
        self.problem = problem
        self.fix = fix
        super().__init__(str(self))

    @property
    def message(self) -> str:
        """Everything after ``file:line:``."""
        return f"{self.problem}; {self.fix}" if self.fix else self.problem

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else f"{self.path}"
        return f"{where}: {self.message}"


class PromptSetError(Exception):
    """Files failed to load; each error keeps its own file and line, in file then line order."""

    def __init__(self, errors: list[PromptError]) -> None:
        self.errors = sorted(errors, key=lambda e: (str(e.path), e.line or 0))
        super().__init__("\n".join(str(e) for e in self.errors))

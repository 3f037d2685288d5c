"""What every `tactful` command shares on the terminal: the two consoles, failing with an
exit code, settings that name what is missing, and model work whose failures become exits.

Exit codes: 2 for what the user must fix (settings, files, prompts), 3 when the
model could not be reached; commands add their own (eval's gate exits 1).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console

from app.domain.ports import LLMError
from app.playbook import PromptSetError
from app.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from app.store import Store

T = TypeVar("T")

out = Console()
err = Console(stderr=True)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Say what went wrong on stderr; ``raise fail(...)`` ends the command with ``code``."""
    err.print(f"[bold red]tactful:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def settings_or_fail(*required: str) -> Settings:
    """The settings, with one line per missing or invalid one among ``required``."""
    try:
        settings = load_settings()
        settings.require(*required)
    except SettingsError as exc:
        raise fail(str(exc)) from None
    return settings


def run_model_work(work: Coroutine[Any, Any, T]) -> T:
    """Run a pipeline to the end; broken prompt files and an unreachable model become exits."""
    try:
        return asyncio.run(work)
    except PromptSetError as exc:
        raise fail("the prompt files have errors:\n" + str(exc)) from None
    except LLMError as exc:
        raise fail(str(exc), code=3) from None


def read_store(database_url: str, query: Callable[[Store], Awaitable[T]]) -> T:
    """One query against the store; a database that cannot be opened becomes an exit."""
    # Here, not at the top: commands that never touch the store skip SQLAlchemy.
    from app.store import DatabaseURLError, Store, StoreUnavailable

    async def read() -> T:
        store = await Store.open(database_url)
        try:
            return await query(store)
        finally:
            await store.close()

    try:
        return asyncio.run(read())
    except (StoreUnavailable, DatabaseURLError) as exc:
        raise fail(str(exc)) from None


def print_json(result: BaseModel) -> None:
    out.print_json(json.dumps(result.model_dump(mode="json"), ensure_ascii=False))

"""`tactful brief FILE|-`: an escalation brief of an exported thread, same pipeline as the bot.

The file is JSON: a ``conversations.replies`` answer (``{"messages": [...]}``),
a plain list of such messages, or a channel file of a Slack export (a list
of a day's messages, several threads mixed; ``--thread TS`` picks one).
Who wrote each message is read from the export: a bot (``bot_id``), an agent
(a user ID in ``--agent`` or ``TACTFUL_AGENTS``; user-group IDs cannot be
resolved offline), or else the customer.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

import typer
from rich.markup import escape

from app.cli_output import fail, out, print_json, run_model_work, settings_or_fail
from app.domain.models import Brief, BriefItem, ThreadMessage
from app.settings import Settings


class ThreadFileError(ValueError):
    """The file is not a thread export; the message says what was expected."""


def load_thread(
    data: Any, *, agents: set[str], thread_ts: str | None = None
) -> list[ThreadMessage]:
    """The messages of an export, oldest first, labelled by author; those without text left out."""
    messages = data.get("messages") if isinstance(data, dict) else data
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise ThreadFileError(
            'expected {"messages": [...]} (conversations.replies) or a list of messages '
            "(a Slack export channel file)"
        )
    if thread_ts is not None:
        messages = [m for m in messages if thread_ts in (m.get("ts"), m.get("thread_ts"))]
    thread = []
    author: Literal["customer", "agent", "bot"]
    for m in sorted(messages, key=lambda m: float(m.get("ts") or 0)):
        text = str(m.get("text") or "")
        if not text.strip():
            continue
        if m.get("bot_id") or m.get("subtype") == "bot_message":
            author = "bot"
        elif m.get("user") in agents:
            author = "agent"
        else:
            author = "customer"
        thread.append(
            ThreadMessage(author=author, text=text, ts=str(m.get("ts") or "") or None,
                          user_id=m.get("user"))
        )
    return thread


async def run_brief(settings: Settings, thread: list[ThreadMessage]) -> Brief:
    from app.runtime import build_drafting

    drafting = build_drafting(settings)
    try:
        return await drafting.briefing.brief(thread)
    finally:
        await drafting.aclose()


def brief(
    file: Annotated[str, typer.Argument(help="A thread exported as JSON, or - for stdin.")],
    thread: Annotated[
        Optional[str],  # noqa: UP045 (typer)
        typer.Option("--thread", help="In a channel export, the ts of the thread to brief."),
    ] = None,
    agent: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option("--agent", help="A user ID whose messages are an agent's (repeatable)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
) -> None:
    """Brief an exported thread for escalation (same pipeline as the bot)."""
    settings = settings_or_fail("OPENAI_API_KEY")
    try:
        raw = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
        messages = load_thread(
            json.loads(raw), agents=set(settings.agents) | set(agent or []), thread_ts=thread
        )
    except OSError as exc:
        raise fail(f"cannot read {file}: {exc.strerror or exc}") from None
    except (ValueError, ThreadFileError) as exc:
        raise fail(f"{file} is not a thread export: {exc}") from None
    if not messages:
        raise fail("the thread has no messages with text to summarize.")
    result = run_model_work(run_brief(settings, messages))
    if as_json:
        print_json(result)
    else:
        print_brief(result)


def _items(title: str, items: list[BriefItem]) -> None:
    out.print(f"[bold]{title}[/]")
    for item in items or []:
        out.print(f"  • {escape(item.text)} [dim]({', '.join(item.refs)})[/]", highlight=False)
    if not items:
        out.print("  none")


def print_brief(result: Brief) -> None:
    out.print(f"[bold]Issue[/]\n  {escape(result.issue)}", highlight=False)
    _items("Timeline", result.timeline)
    _items("Offered", result.offered)
    _items("Declined", result.declined)
    out.print("[bold]Promises still open[/]")
    for p in result.open_promises:
        due = "no date given" if p.due_at is None else f"due {p.due_at:%Y-%m-%d %H:%M} UTC"
        late = " [red]passed[/]" if p.passed else ""
        out.print(f"  • {escape(p.who)}: {escape(p.what)} ({due}){late} [dim]({', '.join(p.refs)})[/]",
                  highlight=False)
    if not result.open_promises:
        out.print("  none")
    out.print(f"[bold]Customer mood[/]\n  {escape(result.customer_mood)}", highlight=False)
    out.print(f"[bold]Next step[/]\n  {escape(result.next_step)}", highlight=False)
    dropped = f" · {result.dropped} items left out (cited messages not in the thread)" if result.dropped else ""
    out.print(
        f"[dim]{result.message_count:,} messages · {result.parts} part(s) · "
        f"{result.llm_calls} model call(s) · prompt {result.prompt_version}{dropped}[/]",
        highlight=False,
    )

"""The `tactful` command: thin wrappers that parse, call the domain, print."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from app.brief_cli import brief as brief_command
from app.cli_output import (
    err,
    fail,
    out,
    print_json,
    read_store,
    run_model_work,
    settings_or_fail,
)
from app.domain.limits import cap_text
from app.domain.models import TONES, Complaint, DraftResult
from app.eval_cli import eval_cli
from app.playbook import PromptSetError
from app.reporting.cli import report as report_command
from app.settings import Settings, SettingsError

cli = typer.Typer(
    help="tactful: empathetic reply drafts for support teams, approved by a human.",
    no_args_is_help=True,
    add_completion=False,
)
prompts_cli = typer.Typer(
    help="Check the prompt files and the offer catalog.", no_args_is_help=True
)
cli.add_typer(prompts_cli, name="prompts")
cli.add_typer(eval_cli, name="eval")
cli.command(name="report")(report_command)
cli.command(name="brief")(brief_command)



def _settings() -> Settings:
    return settings_or_fail()


@cli.command()
def draft(
    file: Annotated[
        str, typer.Argument(help="A file with the customer's message, or - for stdin.")
    ],
    tone: Annotated[
        Optional[str], typer.Option(help=f"One of: {', '.join(TONES)}.")  # noqa: UP045 (typer)
    ] = None,
    channel_context: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--channel-context", help="What the agent knows: customer, plan, order…"),
    ] = None,
    guidance: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="The agent's instructions, e.g. 'offer express shipping'."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
) -> None:
    """Draft a reply to a complaint from the terminal (same pipeline as the bot)."""
    if tone is not None and tone not in TONES:
        raise fail(f"--tone must be one of {', '.join(TONES)} (got {tone!r}).")
    text = sys.stdin.read() if file == "-" else _read(Path(file))
    if not text.strip():
        raise fail(
            "the complaint is empty: pass a file with the customer's message, or - and pipe it in."
        )
    settings = _settings()
    try:
        settings.require("OPENAI_API_KEY")
    except SettingsError as exc:
        raise fail(str(exc)) from None
    capped = cap_text(text.strip(), settings.max_message_chars)
    if capped.cut:
        err.print(
            f"[yellow]note:[/] the message has {capped.original_chars:,} characters; the model "
            f"reads the first {len(capped.text):,} (TACTFUL_MAX_MESSAGE_CHARS).",
            highlight=False,
        )
    if channel_context:
        channel_context = cap_text(channel_context, settings.max_message_chars).text
    if guidance:
        guidance = cap_text(guidance, settings.max_message_chars).text
    complaint = Complaint(text=capped.text, channel_context=channel_context)
    result = run_model_work(_draft(settings, complaint, tone=tone, guidance=guidance))
    if as_json:
        print_json(result)
    else:
        from app.terminal_view import print_draft

        print_draft(out, result)


async def _draft(
    settings: Settings, complaint: Complaint, *, tone: str | None, guidance: str | None
) -> DraftResult:
    from app.runtime import build_drafting

    drafting = build_drafting(settings)
    try:
        with err.status("Drafting a reply…", spinner="dots"):
            return await drafting.pipeline.draft(complaint, tone=tone, guidance=guidance)
    finally:
        await drafting.aclose()


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise fail(f"{path}: no such file.") from None
    except UnicodeDecodeError:
        raise fail(f"{path}: not UTF-8 text.") from None


@prompts_cli.command("check")
def prompts_check(
    directory: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Argument(help="Defaults to TACTFUL_PROMPTS_DIR (./prompts)."),
    ] = None,
) -> None:
    """Validate playbooks.yaml and every playbook's files; exit 1 on any error."""
    from app.playbook import check_playbooks

    directory = directory or _settings().prompts_dir
    books, errors = check_playbooks(directory)
    if errors:
        for error in errors:
            err.print(f"[red]✗[/] {error}", highlight=False, soft_wrap=True)
        err.print(
            f"{len(errors)} error(s); a running bot keeps serving the last good version "
            f"and would refuse to start on {directory}."
        )
        raise typer.Exit(1) from None
    for book in books:
        names = ", ".join(sorted(book.prompts.templates))
        out.print(
            f"[green]✓[/] {book.name} ({book.directory}): prompts {names}; "
            f"{len(book.catalog.offers)} offers; version {book.version}",
            highlight=False,
        )


@cli.command()
def serve(
    port: Annotated[
        int,
        typer.Option(
            help="HTTP port: /slack/events, /healthz, /metrics (Socket Mode: the last two)."
        ),
    ] = 3000,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "0.0.0.0",
    socket: Annotated[
        bool, typer.Option("--socket", help="Socket Mode (no public URL; for development).")
    ] = False,
) -> None:
    """Run the Slack bot (HTTP mode by default, Socket Mode with --socket)."""
    settings = _settings()
    slack = ["SLACK_BOT_TOKEN", "SLACK_APP_TOKEN" if socket else "SLACK_SIGNING_SECRET"]
    watching = ["TACTFUL_SUPPORT_CHANNELS", "TACTFUL_REVIEW_CHANNEL", "TACTFUL_AGENTS"]
    try:
        settings.require(*slack, "OPENAI_API_KEY", *watching)
    except SettingsError as exc:
        raise fail(
            f"cannot start the bot yet:\n{exc}\n"
            "Then run the same command again. README.md → Quickstart walks through creating the Slack app"
            + (
                "."
                if socket
                else "; for Socket Mode use --socket with SLACK_APP_TOKEN instead of the signing secret."
            )
        ) from None
    # Imported here, not with the CLI: each command loads only what it runs.
    from app.logs import configure_logging
    from app.slack.server import serve_http
    from app.slack.socket_mode import serve_socket
    from app.store import DatabaseURLError, StoreUnavailable

    configure_logging(
        level=settings.log_level,
        fmt=settings.log_format,
        secrets=[
            s.get_secret_value()
            for s in (
                settings.slack_bot_token,
                settings.slack_signing_secret,
                settings.slack_app_token,
                settings.openai_api_key,
            )
            if s is not None
        ],
    )
    try:
        if socket:
            asyncio.run(serve_socket(settings, port=port))
        else:
            asyncio.run(serve_http(settings, host=host, port=port))
    except (SettingsError, PromptSetError, StoreUnavailable, DatabaseURLError) as exc:
        raise fail(str(exc)) from None
    except KeyboardInterrupt:
        pass


@cli.command()
def stats(
    days: Annotated[int, typer.Option(help="Look back this many days (0: everything).")] = 30,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
) -> None:
    """Acceptance and edit rates, categories and response times, from the store."""
    from dataclasses import asdict
    from datetime import UTC, datetime, timedelta

    from app.terminal_view import print_stats

    settings = _settings()
    since = datetime.now(UTC) - timedelta(days=days) if days else None

    figures = read_store(settings.database_url, lambda store: store.stats(since=since))
    if as_json:
        out.print_json(json.dumps(asdict(figures), default=str))
        return
    print_stats(out, figures)


@cli.command()
def manifest(
    url: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            help="Public base URL of `tactful serve` (HTTP mode), e.g. https://tactful.example.com"
        ),
    ] = None,
    socket: Annotated[bool, typer.Option("--socket", help="A manifest for Socket Mode.")] = False,
    fmt: Annotated[str, typer.Option("--format", help="json or yaml")] = "yaml",
) -> None:
    """Print the Slack app manifest to paste into api.slack.com/apps."""
    from app.slack.manifest import build_manifest

    data = build_manifest(url=url, socket_mode=socket)
    if fmt == "json":
        print(json.dumps(data, indent=2))
    elif fmt == "yaml":
        import yaml

        print(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), end="")
    else:
        raise fail("--format must be json or yaml.")


def main() -> None:
    from app.logs import configure_logging

    # structlog's default prints to stdout, where a retry warning would break `--json`
    # output; every command logs to stderr, and `serve` sets its own level and format.
    configure_logging(level="WARNING", fmt="console")
    cli()

"""Tells managers in Slack when a playbook file they edited is rejected, and when it is fixed.

The bot reloads ``prompts/`` while it runs (``PlaybookRouter``); a broken
file is never served, and the last good version keeps drafting. Without a
word in Slack a manager would only find out from ``/healthz`` or the logs,
so each distinct set of problems is posted once to
``TACTFUL_MANAGER_CHANNEL``, every problem as ``file:line: what is wrong;
how to fix it``, and the fix is posted when the files load again. The same
text is shown to managers in App Home (``home_section``).

The messages quote only what managers wrote in files (never customer text),
and go through the paced client like every other Slack call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from app.playbook import PlaybookRouter, PromptError

log = structlog.get_logger(__name__)

# A Block Kit section takes 3,000 characters and a message 50 blocks; a long list of
# problems is cut here and the rest left to `tactful prompts check`.
_SECTION_CHARS = 2900
_MAX_LISTED = 40


def _escape(text: str) -> str:
    # mrkdwn: a file's text must not become a link or a mention.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _where(error: PromptError, root: Path) -> str:
    """The error with its path relative to the prompts folder's parent, as in the repository."""
    try:
        shown = error.path.relative_to(root.parent)
    except ValueError:
        shown = error.path
    place = f"{shown}:{error.line}" if error.line else f"{shown}"
    return f"{place}: {error.message}"


def problem_lines(errors: list[PromptError], root: Path) -> list[str]:
    lines = [f"• `{_escape(_where(e, root))}`" for e in errors[:_MAX_LISTED]]
    if len(errors) > _MAX_LISTED:
        lines.append(f"…and {len(errors) - _MAX_LISTED} more: run `tactful prompts check`.")
    return lines


def _sections(lines: list[str]) -> list[dict[str, Any]]:
    """The lines as sections of at most ``_SECTION_CHARS`` each (one line never split)."""
    sections: list[dict[str, Any]] = []
    chunk = ""
    for line in lines:
        line = line[:_SECTION_CHARS]
        if chunk and len(chunk) + 1 + len(line) > _SECTION_CHARS:
            sections.append(_section(chunk))
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line
    if chunk:
        sections.append(_section(chunk))
    return sections


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def rejected_message(
    router: PlaybookRouter, errors: list[PromptError], root: Path
) -> tuple[str, list[dict[str, Any]]]:
    serving = ", ".join(
        f"{name} {book.version}"
        for name in router.names
        if (book := router.named(name)) is not None
    )
    head = (
        f":warning: *Playbook files rejected* ({len(errors)} problem(s)). Nothing from them is "
        f"served: drafts keep using the last good version ({serving}). Fix these lines, "
        "or run `tactful prompts check` to see them all:"
    )
    text = (
        f"Playbook files rejected: {len(errors)} problem(s); the last good version is still served."
    )
    return text, _sections([head, *problem_lines(errors, root)])


def fixed_message(router: PlaybookRouter) -> tuple[str, list[dict[str, Any]]]:
    serving = ", ".join(
        f"{name} {book.version}"
        for name in router.names
        if (book := router.named(name)) is not None
    )
    text = f"Playbook files fixed: drafts now use {serving}."
    return text, [_section(f":white_check_mark: *Playbook files fixed.* Drafts now use {serving}.")]


def home_section(router: PlaybookRouter, root: Path) -> list[dict[str, Any]]:
    """App Home blocks for managers: the current problems (one section), or none."""
    errors = router.last_errors
    if not errors:
        return []
    sections = _sections(
        [
            ":warning: *Playbook files rejected* (the last good version is still served; "
            "`tactful prompts check` lists every problem):",
            *problem_lines(errors, root),
        ]
    )
    return sections[:1]  # App Home holds 100 blocks, and the report needs them


def with_playbook_problems(view: dict[str, Any], notices: list[dict[str, Any]]) -> dict[str, Any]:
    """The home view with ``notices`` right under its header, within Slack's 100 blocks."""
    blocks = view["blocks"]
    if not notices:
        return view
    return {**view, "blocks": [*blocks[:1], *notices, *blocks[1:]][:100]}


class PlaybookAlerts:
    """Looks at the playbook files and posts each change of their problems once."""

    def __init__(
        self, client: AsyncWebClient, router: PlaybookRouter, *, channel: str, root: Path
    ) -> None:
        self._client = client
        self._router = router
        self._channel = channel
        self._root = root
        # The bot started on good files: nothing to report until that changes.
        self._reported: tuple[str, ...] = ()

    async def report(self, errors: list[PromptError]) -> None:
        """Post ``errors`` (what the router's last check refused) if they changed since the last post."""
        key = tuple(str(e) for e in errors)
        if key == self._reported:
            return
        if errors:
            text, blocks = rejected_message(self._router, errors, self._root)
        else:
            text, blocks = fixed_message(self._router)
        try:
            await self._client.chat_postMessage(
                channel=self._channel, text=text, blocks=blocks, unfurl_links=False
            )
        except SlackApiError as exc:
            # Not marked reported: the next check tries again.
            log.warning("playbook_alert_failed", error=exc.response.get("error"))
            return
        self._reported = key
        log.info("playbook_alert_posted", problems=len(errors))

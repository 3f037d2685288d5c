"""The test doubles the tests and ``bench/`` share: one of each, nothing patched inside the app.

* ``openai_api`` + ``openai_replies``: ``FakeOpenAI``, in-process through respx
  or served on a local port;
* ``slack_api`` (+ ``slack_methods``, ``slack_workspace``, ``slack_blocks``,
  ``socket_mode``, ``slack_rate_limits``): ``FakeSlack``, a local Slack Web API
  with Socket Mode and, as an option, Slack's published rate limits;
* ``signing``: requests signed as Slack sends them; ``support_workspace``: the
  workspace every story starts from and a bot's settings for the fakes;
* ``scratch_postgres``: throw-away databases on a real PostgreSQL server;
  ``clocks`` and ``virtual_time``: time a test controls.

Each server also runs on its own (``python -m tests.fakes.slack_api`` /
``python -m tests.fakes.openai_api``).  Names are loaded on first use so that
running a submodule with ``-m`` does not import it twice.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .openai_api import FakeOpenAI
    from .signing import (
        SIGNING_SECRET,
        block_actions_body,
        event_callback_body,
        message_event,
        message_shortcut_body,
        new_trigger_id,
        plain_text_values,
        sign,
        slash_command_body,
        view_submission_body,
    )
    from .slack_api import FakeSlack, SlackCall

_HOME = {
    "FakeOpenAI": "openai_api",
    "FakeSlack": "slack_api",
    "SlackCall": "slack_api",
    "SIGNING_SECRET": "signing",
    "block_actions_body": "signing",
    "event_callback_body": "signing",
    "message_event": "signing",
    "message_shortcut_body": "signing",
    "new_trigger_id": "signing",
    "plain_text_values": "signing",
    "sign": "signing",
    "slash_command_body": "signing",
    "view_submission_body": "signing",
}

__all__ = [
    "SIGNING_SECRET",
    "FakeOpenAI",
    "FakeSlack",
    "SlackCall",
    "block_actions_body",
    "event_callback_body",
    "message_event",
    "message_shortcut_body",
    "new_trigger_id",
    "plain_text_values",
    "sign",
    "slash_command_body",
    "view_submission_body",
]


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)

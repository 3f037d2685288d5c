"""The use cases: what the bot does, one module each, between the Slack adapter and the domain.

Each takes its collaborators explicitly (the store, the pipelines, and
``SlackPort`` for what it needs from Slack), so it reads top-down and is
tested without HTTP.  Nothing here imports slack_sdk, slack_bolt or openai.
"""

from app.usecases.approve import SendOutcome
from app.usecases.brief import BriefOutcome
from app.usecases.desk import Desk, DeskSettings, build_desk
from app.usecases.intake import Message, WatchResult
from app.usecases.ports import CardRef, SlackFailure, SlackPort

__all__ = [
    "BriefOutcome",
    "CardRef",
    "Desk",
    "DeskSettings",
    "Message",
    "SendOutcome",
    "SlackFailure",
    "SlackPort",
    "WatchResult",
    "build_desk",
]

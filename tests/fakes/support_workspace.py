"""The support team every Slack story and the load bench start from, and a bot wired to the fakes.

One workspace: agents (one listed by id, one through a user group), an
internal colleague who is no agent, a Slack Connect customer, an outsider
listed as agent who must still never approve, a support channel shared with
the customer's company and an internal review channel.  ``workspace_seed``
gives it in the JSON ``FakeSlack.seed`` takes, and ``bot_environment`` the
settings of a tactful bot that talks only to the fakes.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .signing import SIGNING_SECRET

REPO = Path(__file__).resolve().parents[2]
PROMPTS_DIR = REPO / "prompts"

SUPPORT = "C0SUPPORT"
REVIEW = "C0REVIEW"
AGENT = "UAGENT1"
GROUP_AGENT = "UAGENT2"
AGENT_GROUP = "S0AGENTS"
COLLEAGUE = "UCOLLEAGUE"  # internal, but not an agent
CUSTOMER = "UCUSTOMER"
CUSTOMER_TEAM = "T0CUSTOMER"
OUTSIDER_LISTED = "UEXTAGENT"  # listed in TACTFUL_AGENTS but from another workspace

BOT_TOKEN = "xoxb-test"
OPENAI_KEY = "sk-test-not-real"


def workspace_seed(messages: Iterable[tuple[str, str]] = ()) -> dict[str, Any]:
    """The workspace as ``FakeSlack.seed`` JSON, plus customer messages ``(ts, text)`` in SUPPORT."""
    return {
        "users": [
            {"id": AGENT, "name": "Ana Agent"},
            {"id": GROUP_AGENT, "name": "Gus Groupagent"},
            {"id": COLLEAGUE, "name": "Colin Colleague"},
            {
                "id": CUSTOMER,
                "name": "Casey Customer",
                "team_id": CUSTOMER_TEAM,
                "is_stranger": True,
            },
            {
                "id": OUTSIDER_LISTED,
                "name": "Ext Erne",
                "team_id": CUSTOMER_TEAM,
                "is_stranger": True,
            },
        ],
        "usergroups": {AGENT_GROUP: [GROUP_AGENT]},
        "channels": {
            SUPPORT: {"is_ext_shared": True, "name": "acme-support"},
            REVIEW: {"name": "support-review"},
        },
        "messages": [
            {"channel": SUPPORT, "ts": ts, "text": text, "user": CUSTOMER} for ts, text in messages
        ],
    }


def bot_environment(
    *, slack_url: str, openai_url: str, database_url: str, **extra: str
) -> dict[str, str]:
    """The settings (as environment variables) of a bot on this workspace and these fakes."""
    environment = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack_url,
        "OPENAI_API_KEY": OPENAI_KEY,
        "OPENAI_BASE_URL": openai_url,
        "TACTFUL_MODEL": "fake-model",
        "TACTFUL_DATABASE_URL": database_url,
        "TACTFUL_PROMPTS_DIR": str(PROMPTS_DIR),
        "TACTFUL_SUPPORT_CHANNELS": SUPPORT,
        "TACTFUL_REVIEW_CHANNEL": REVIEW,
        "TACTFUL_AGENTS": f"{AGENT},{AGENT_GROUP},{OUTSIDER_LISTED}",
    }
    environment.update(extra)
    return environment

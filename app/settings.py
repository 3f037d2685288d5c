"""The one settings object, read from the environment or a `.env` file.

Every setting is optional at load time because each command needs a
different subset (`prompts check` needs none, `serve` needs Slack and the
LLM); a command calls ``require`` for what it needs, and a missing or bad
value becomes one line that names the variable and says how to set it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_AGENT_ID = re.compile(r"^[UWS][A-Z0-9]{2,}$")

# What a user must do to provide each setting; shown when it is missing.
HOW_TO_SET: dict[str, str] = {
    "SLACK_BOT_TOKEN": "the Bot User OAuth Token (xoxb-…) from your Slack app's OAuth & Permissions page",
    "SLACK_SIGNING_SECRET": "the Signing Secret from your Slack app's Basic Information page",
    "SLACK_APP_TOKEN": "an app-level token (xapp-…) with connections:write, from Basic Information → App-Level Tokens",
    "OPENAI_API_KEY": "your OpenAI (or compatible server's) API key; for a local server without keys set OPENAI_BASE_URL instead",
    "TACTFUL_REVIEW_CHANNEL": "the ID (C…) of the private channel where agents review suggestion cards",
    "TACTFUL_SUPPORT_CHANNELS": "the IDs of the channels to watch, comma-separated (C01,C02); "
    "or TACTFUL_RELAY_CHANNELS for channels where agents paste customer e-mails",
    "TACTFUL_AGENTS": "the user IDs (U…) or user-group ID (S…) allowed to approve, comma-separated",
}


class SettingsError(Exception):
    """A setting is missing or invalid; the message is one line a person can act on."""


def _split_ids(value: Any) -> Any:
    """Accept `C1,C2`, `C1 C2` and JSON arrays for list settings."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            import json

            return json.loads(text)
        return [part for part in re.split(r"[,\s]+", text) if part]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    slack_bot_token: SecretStr | None = Field(None, validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(None, validation_alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(None, validation_alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field("https://slack.com/api/", validation_alias="SLACK_API_URL")

    openai_api_key: SecretStr | None = Field(None, validation_alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(None, validation_alias="OPENAI_BASE_URL")
    model: str = Field("gpt-4o-mini", validation_alias="TACTFUL_MODEL")
    structured_output: Literal["auto", "json_schema", "json_object"] = Field(
        "auto", validation_alias="TACTFUL_STRUCTURED_OUTPUT"
    )
    llm_timeout_s: float = Field(30.0, gt=0, validation_alias="TACTFUL_LLM_TIMEOUT")
    llm_retry_deadline_s: float = Field(60.0, gt=0, validation_alias="TACTFUL_LLM_RETRY_DEADLINE")

    database_url: str = Field("sqlite:///./tactful.db", validation_alias="TACTFUL_DATABASE_URL")
    prompts_dir: Path = Field(Path("./prompts"), validation_alias="TACTFUL_PROMPTS_DIR")

    support_channels: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias="TACTFUL_SUPPORT_CHANNELS"
    )
    # Internal channels where agents paste customers' e-mails and chats (app.domain.channels);
    # watched without being listed in TACTFUL_SUPPORT_CHANNELS.
    relay_channels: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias="TACTFUL_RELAY_CHANNELS"
    )
    review_channel: str | None = Field(None, validation_alias="TACTFUL_REVIEW_CHANNEL")
    # Where the bot tells managers that a playbook file was rejected, and when it is fixed.
    manager_channel: str | None = Field(None, validation_alias="TACTFUL_MANAGER_CHANNEL")
    # How often the running bot looks for edited playbook files.
    playbook_reload_s: float = Field(
        5.0, gt=0, le=3600, validation_alias="TACTFUL_PLAYBOOK_RELOAD_SECONDS"
    )
    agents: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias="TACTFUL_AGENTS"
    )
    # bot: Approve posts the reply as the bot; agent: the agent gets the text to post themselves.
    send_as: Literal["bot", "agent"] = Field("bot", validation_alias="TACTFUL_SEND_AS")
    # Drafting jobs mostly wait on the model, so a burst of a few hundred complaints fits
    # at once (issue 8: 200 in 5 s); a low cap made cards queue behind each other.
    max_concurrent_drafts: int = Field(
        256, ge=1, le=500, validation_alias="TACTFUL_MAX_CONCURRENT_DRAFTS"
    )
    # How long a claimed drafting job stays with its worker without a heartbeat: a process
    # that dies mid-draft hands its jobs to another within about this long (plus 1 s polling).
    job_lease_s: float = Field(20.0, gt=0, le=600, validation_alias="TACTFUL_JOB_LEASE_SECONDS")
    # Input tokens one escalation-brief call may send (estimated locally); a longer thread is
    # summarized in parts of this size, concurrently, then combined.
    brief_context_tokens: int = Field(
        8000, ge=1000, le=1_000_000, validation_alias="TACTFUL_BRIEF_CONTEXT_TOKENS"
    )
    # Parts of a long thread summarized at the same time.
    brief_concurrency: int = Field(4, ge=1, le=32, validation_alias="TACTFUL_BRIEF_CONCURRENCY")
    # Days complaints, drafts and their audit texts are kept; the upkeep loop deletes older ones.
    retention_days: int = Field(90, ge=1, validation_alias="TACTFUL_RETENTION_DAYS")
    # A sent reply with a follow-up note but no time in its text is a commitment due this
    # many hours after sending (app.usecases.commitments); 0: only replies naming a time.
    follow_up_hours: float = Field(24.0, ge=0, validation_alias="TACTFUL_FOLLOW_UP_HOURS")
    # The customers' time zone: "by Friday" in a sent reply means Friday there (IANA name).
    time_zone: str = Field("UTC", validation_alias="TACTFUL_TIMEZONE")
    # Per-channel overrides of TACTFUL_TIMEZONE, a JSON map {"C0123": "Europe/Paris"}.
    channel_time_zones: dict[str, str] = Field(
        default_factory=dict, validation_alias="TACTFUL_CHANNEL_TIMEZONES"
    )
    # Minutes before a commitment is due when its owner gets the reminder DM.
    remind_before_minutes: float = Field(
        60.0, ge=0, le=10_080, validation_alias="TACTFUL_REMIND_BEFORE_MINUTES"
    )
    # Who sees the report in App Home (user IDs); unset: every agent.
    managers: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias="TACTFUL_MANAGERS"
    )
    # Characters of one customer message read before any pattern or LLM call; the rest
    # is cut (app.domain.limits.cap_text) and the card says so. 8,000 is a long e-mail.
    max_message_chars: int = Field(
        8000, ge=500, le=200_000, validation_alias="TACTFUL_MAX_MESSAGE_CHARS"
    )
    # Characters of earlier thread messages sent with a draft or a brief, newest kept
    # first (app.domain.limits.cap_history).
    max_history_chars: int = Field(
        20000, ge=1000, le=500_000, validation_alias="TACTFUL_MAX_HISTORY_CHARS"
    )
    # Hosts a reply may link to (subdomains included), on top of guardrails.yaml's
    # allowed_link_hosts; any other link is a block flag on the card.
    link_allowlist: Annotated[list[str], NoDecode, BeforeValidator(_split_ids)] = Field(
        default_factory=list, validation_alias="TACTFUL_LINK_ALLOWLIST"
    )
    # Incidents (README "Complaint bursts"): the embedding model of OPENAI_BASE_URL's server
    # that places complaints ("" = the lexical fallback, no network), how far back a burst
    # reaches, how close to an incident's centroid a complaint must be, and how many
    # complaints open an incident (0 turns grouping off).
    embedding_model: str = Field("", validation_alias="TACTFUL_EMBEDDING_MODEL")
    incident_window_minutes: float = Field(
        30.0, gt=0, le=24 * 60, validation_alias="TACTFUL_INCIDENT_WINDOW_MINUTES"
    )
    incident_threshold: float = Field(
        0.4, gt=0, le=1, validation_alias="TACTFUL_INCIDENT_THRESHOLD"
    )
    incident_min_size: int = Field(3, ge=0, le=1000, validation_alias="TACTFUL_INCIDENT_MIN_SIZE")
    log_level: str = Field("INFO", validation_alias="TACTFUL_LOG_LEVEL")
    log_format: Literal["json", "console"] = Field("json", validation_alias="TACTFUL_LOG_FORMAT")

    @field_validator("time_zone")
    @classmethod
    def _time_zone(cls, value: str) -> str:
        from app.domain.commitments import zone

        zone(value)
        return value

    @field_validator("channel_time_zones")
    @classmethod
    def _channel_time_zones(cls, value: dict[str, str]) -> dict[str, str]:
        from app.domain.commitments import zone

        for channel, name in value.items():
            if not _CHANNEL_ID.match(channel):
                raise ValueError(f"not a channel ID: {channel} (IDs look like C0123ABCD)")
            zone(name)
        return value

    @field_validator("support_channels", "relay_channels", "agents", "managers", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return _split_ids(value)

    @field_validator("support_channels", "relay_channels")
    @classmethod
    def _channel_ids(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not _CHANNEL_ID.match(v)]
        if bad:
            raise ValueError(f"not a channel ID: {', '.join(bad)} (IDs look like C0123ABCD)")
        return value

    @field_validator("review_channel", "manager_channel")
    @classmethod
    def _review_channel(cls, value: str | None) -> str | None:
        if value and not _CHANNEL_ID.match(value):
            raise ValueError(f"not a channel ID: {value} (IDs look like C0123ABCD)")
        return value or None

    @model_validator(mode="after")
    def _review_is_not_watched(self) -> Settings:
        if self.review_channel and self.review_channel in self.support_channels:
            raise ValueError(
                "TACTFUL_REVIEW_CHANNEL must not be one of TACTFUL_SUPPORT_CHANNELS: "
                "customers would see the drafts"
            )
        if self.review_channel and self.review_channel in self.relay_channels:
            raise ValueError(
                "TACTFUL_REVIEW_CHANNEL must not be one of TACTFUL_RELAY_CHANNELS: "
                "agents' talk about cards would be read as pasted e-mails"
            )
        if self.manager_channel and self.manager_channel in self.support_channels:
            raise ValueError(
                "TACTFUL_MANAGER_CHANNEL must not be one of TACTFUL_SUPPORT_CHANNELS: "
                "customers would see the playbook alerts"
            )
        return self

    @field_validator("agents", "managers")
    @classmethod
    def _agent_ids(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not _AGENT_ID.match(v)]
        if bad:
            raise ValueError(f"not a user or user-group ID: {', '.join(bad)} (U…, W… or S…)")
        return value

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value and not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("a bot token starts with xoxb-")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("an app-level token starts with xapp-")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL such as https://slack.com/api/")
        return value if value.endswith("/") else value + "/"

    @field_validator("database_url")
    @classmethod
    def _db_url(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql", "postgres://")):
            raise ValueError("use sqlite:///path.db or postgresql://user@host:port/db")
        return value

    # --- what commands need ------------------------------------------------

    def require(self, *names: str) -> None:
        """Fail with one actionable line per missing setting among ``names``."""
        missing = []
        for name in names:
            if name == "OPENAI_API_KEY" and self.openai_base_url:
                continue  # local OpenAI-compatible servers usually take no key
            if name == "TACTFUL_SUPPORT_CHANNELS" and self.relay_channels:
                continue  # a team that only relays e-mails watches relay channels alone
            if not _is_set(self._value_of(name)):
                how = HOW_TO_SET.get(name, "see the settings table in README.md")
                missing.append(f"{name} is not set: export {name}=… or add it to .env ({how}).")
        if missing:
            raise SettingsError("\n".join(missing))

    def _value_of(self, env_name: str) -> Any:
        for field_name, info in type(self).model_fields.items():
            if info.validation_alias == env_name:
                return getattr(self, field_name)
        raise KeyError(env_name)

    @property
    def llm_api_key(self) -> str:
        key = self.openai_api_key.get_secret_value() if self.openai_api_key else ""
        # The SDK refuses an empty key, yet Ollama, vLLM and llama.cpp need none.
        return key or "not-needed"


def _is_set(value: Any) -> bool:
    if isinstance(value, SecretStr):
        return bool(value.get_secret_value())
    return bool(value)


def load_settings(**overrides: Any) -> Settings:
    """Build settings, turning a validation error into one line per bad variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(p) for p in first["loc"]) or "settings"
        # A URL may carry a password (postgresql://user:pass@host): never echoed.
        secret = any(word in name.lower() for word in ("token", "secret", "key", "url"))
        shown = "" if secret else f" (got {first.get('input')!r})"
        message = first["msg"].removeprefix("Value error, ")
        raise SettingsError(
            f"{name} is invalid: {message}{shown}. Fix it in the environment or in .env."
        ) from None

"""Builds the shared objects from settings: one LLM client, the playbooks, one pipeline.

The CLI, the Slack bot and the benchmark all start here, so a setting means
the same thing everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.domain.briefing import BriefingPipeline
from app.domain.drafting import DraftingPipeline
from app.llm import LLMClient, LLMConfig
from app.playbook import PlaybookRouter
from app.settings import Settings


@dataclass
class Drafting:
    llm: LLMClient
    playbook: PlaybookRouter  # the playbook of each channel (prompts/playbooks.yaml)
    pipeline: DraftingPipeline
    briefing: BriefingPipeline

    async def aclose(self) -> None:
        await self.llm.aclose()


def llm_config(settings: Settings) -> LLMConfig:
    return LLMConfig(
        api_key=settings.llm_api_key,
        base_url=settings.openai_base_url,
        model=settings.model,
        timeout_s=settings.llm_timeout_s,
        retry_deadline_s=settings.llm_retry_deadline_s,
        structured_output=settings.structured_output,
    )


def build_drafting(settings: Settings, *, llm: LLMClient | None = None) -> Drafting:
    """Load the playbooks (fails with file:line errors) and wire the pipeline."""
    playbook = PlaybookRouter(settings.prompts_dir)
    client = llm or LLMClient(llm_config(settings))
    return Drafting(
        client,
        playbook,
        DraftingPipeline(client, playbook.current, link_allowlist=settings.link_allowlist),
        BriefingPipeline(
            client,
            playbook.current,
            context_tokens=settings.brief_context_tokens,
            concurrency=settings.brief_concurrency,
        ),
    )

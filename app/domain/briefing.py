"""Thread -> escalation brief: the issue, timeline, offers, open promises, mood, next step.

The thread reaches the brief prompt as a list, one redacted ``<message>`` element per
message (``customer_data.history_entries``), so no message can pose as another.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from app.domain.customer_data import fence, history_entries
from app.domain.drafting import complete_prompt
from app.domain.models import Brief, BriefOutput, ThreadMessage
from app.domain.ports import PlaybookView, StructuredLLM


class BriefingPipeline:
    def __init__(self, llm: StructuredLLM, playbook: Callable[[], PlaybookView]) -> None:
        self._llm = llm
        self._playbook = playbook

    async def brief(
        self, thread: Sequence[ThreadMessage], *, channel_context: str | None = None
    ) -> Brief:
        book = self._playbook()
        # The playbook fills in its own brand voice.
        prompt = book.render(
            "brief",
            system={},
            user={
                "thread": history_entries(thread),
                "channel_context": fence("channel_context", channel_context),
            },
        )
        result = await complete_prompt(self._llm, prompt, BriefOutput)
        return Brief(**result.value.model_dump(), prompt_version=book.version, usage=result.usage)

"""Thread -> escalation brief, for threads of any length, every item traceable to its messages.

Each message reaches the model as its own redacted, fenced ``<message>``
element whose ``id`` is the message's Slack ts; the model cites those ids in
``refs``.  A thread whose prompt fits the context budget (estimated locally,
``app.domain.tokens``) is briefed in one call.  A longer one is cut, by
whole messages, into parts that each fit; the parts are summarized
concurrently (``brief-part`` prompt, at most ``concurrency`` at a time) and
one last call combines them (``brief`` prompt with ``parts``): LLM calls are
at most parts + 1.  Code, not the model, then drops every item citing a
message that is not in the thread, and decides whether a promise's time has
passed (``app.domain.briefing_checks``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from app.domain.briefing_checks import keep_traceable, open_promises
from app.domain.customer_data import fence
from app.domain.drafting import complete_prompt
from app.domain.fencing import delimit
from app.domain.models import Brief, BriefOutput, BriefPartOutput, ThreadMessage, TokenUsage
from app.domain.ports import PlaybookView, RenderedPrompt, StructuredLLM
from app.domain.redact import redact
from app.domain.tokens import estimate_messages, estimate_tokens, split_to_budget

# Progress for the asker: (parts summarized so far, parts in all, messages read).
Progress = Callable[[int, int, int], Awaitable[None]]
Clock = Callable[[], datetime]

# One message may never take a whole part by itself: longer texts are cut here.
MAX_MESSAGE_CHARS = 4000
# The smallest context budget accepted: below it no prompt fits with a message in it.
_MIN_BUDGET = 1000
# Characters kept of a part's issue, mood and next step when the combine call must shrink.
_SHORT = 120


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _readable(ts: str) -> str:
    try:
        moment = datetime.fromtimestamp(float(ts), tz=UTC)
    except (ValueError, OverflowError, OSError):
        return "unknown"
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def brief_entries(thread: Sequence[ThreadMessage]) -> list[tuple[str, str]]:
    """``(ts, element)`` per message with text: redacted, fenced, its id and author set here.

    The attributes come from Slack's fields, never from the text, and the
    text is defused, so a customer cannot close their element or pose as
    another message (or cite an id of their own making).
    """
    entries: list[tuple[str, str]] = []
    for position, message in enumerate(thread):
        text = message.text
        if len(text) > MAX_MESSAGE_CHARS:
            text = text[:MAX_MESSAGE_CHARS] + " [… cut: the message goes on]"
        body = delimit(redact(text).text, "message")
        if not body:
            continue
        ts = message.ts or f"n{position}"
        opening = (
            f'<message id="{ts}" author="{message.author}" time="{_readable(ts)}">'
        )
        entries.append((ts, opening + body.removeprefix("<message>")))
    return entries


class BriefingPipeline:
    def __init__(
        self,
        llm: StructuredLLM,
        playbook: Callable[[], PlaybookView],
        *,
        context_tokens: int = 8000,
        concurrency: int = 4,
        clock: Clock = _utcnow,
    ) -> None:
        self._llm = llm
        self._playbook = playbook
        self._context_tokens = max(context_tokens, _MIN_BUDGET)
        self._concurrency = max(1, concurrency)
        self._clock = clock

    async def brief(
        self,
        thread: Sequence[ThreadMessage],
        *,
        channel_context: str | None = None,
        progress: Progress | None = None,
    ) -> Brief:
        book = self._playbook()
        entries = brief_entries(thread)
        known = {ts for ts, _ in entries}
        context = fence("channel_context", channel_context)
        whole = book.render(
            "brief", system={},
            user={"thread": [e for _, e in entries], "parts": [], "channel_context": context},
        )
        if estimate_messages([m.content for m in whole.messages]) <= self._context_tokens:
            if progress is not None:
                await progress(0, 1, len(entries))
            result = await complete_prompt(self._llm, whole, BriefOutput)
            return self._checked(result.value, known, book.version, result.usage, len(entries), 1)
        return await self._in_parts(book, entries, known, context, progress)

    async def _in_parts(
        self,
        book: PlaybookView,
        entries: list[tuple[str, str]],
        known: set[str],
        context: str,
        progress: Progress | None,
    ) -> Brief:
        frame = book.render(
            "brief-part", system={"part": "part 1 of 1"},
            user={"thread": [], "channel_context": context},
        )
        room = self._context_tokens - estimate_messages([m.content for m in frame.messages])
        # A part always holds at least one (clipped) message.
        room = max(room, estimate_tokens("x" * MAX_MESSAGE_CHARS) + 50)
        ranges = split_to_budget([estimate_tokens(e) + 1 for _, e in entries], room)
        total = len(ranges)
        done = 0
        gate = asyncio.Semaphore(self._concurrency)
        if progress is not None:
            await progress(0, total, len(entries))

        async def summarize(number: int, span: range) -> tuple[BriefOutput, TokenUsage]:
            nonlocal done
            prompt = book.render(
                "brief-part",
                system={"part": f"part {number} of {total}"},
                user={"thread": [entries[i][1] for i in span], "channel_context": context},
            )
            async with gate:
                result = await complete_prompt(self._llm, prompt, BriefPartOutput)
            done += 1
            if progress is not None:
                await progress(done, total, len(entries))
            return result.value, result.usage

        answers = await asyncio.gather(
            *(summarize(n, span) for n, span in enumerate(ranges, start=1))
        )
        dropped = 0
        summaries: list[BriefOutput] = []
        usage = TokenUsage()
        for part, part_usage in answers:
            kept, lost = keep_traceable(part, known)
            dropped += lost
            usage += part_usage
            summaries.append(kept)
        bounds = [(entries[s[0]][0], entries[s[-1]][0]) for s in ranges]
        combine = self._combine_prompt(book, summaries, bounds, context)
        result = await complete_prompt(self._llm, combine, BriefOutput)
        brief = self._checked(
            result.value, known, book.version, usage + result.usage, len(entries), total
        )
        return brief.model_copy(
            update={"dropped": brief.dropped + dropped, "llm_calls": total + 1}
        )

    def _combine_prompt(
        self,
        book: PlaybookView,
        summaries: list[BriefOutput],
        bounds: list[tuple[str, str]],
        context: str,
    ) -> RenderedPrompt:
        """The combine call, its part summaries thinned until it fits the budget.

        Many parts can outgrow the budget together; the oldest-first timeline
        entries of each part are cut to fewer per part (offers, refusals and
        promises are always kept, being what a manager acts on).  If even one
        entry per part does not fit, the parts go without their timelines.
        """
        most = max((len(s.timeline) for s in summaries), default=0)
        keep: int | None = None
        while True:
            parts = [
                _part_element(n, first, last, _thinned(summary, keep))
                for n, (summary, (first, last)) in enumerate(
                    zip(summaries, bounds, strict=True), start=1
                )
            ]
            prompt = book.render(
                "brief", system={}, user={"thread": [], "parts": parts, "channel_context": context}
            )
            cost = estimate_messages([m.content for m in prompt.messages])
            if cost <= self._context_tokens or keep == 0:
                return prompt
            # Halving ends at 1 entry a part, then at none: the timeline goes before offers do.
            keep = (keep if keep is not None else max(most, 2)) // 2

    def _checked(
        self,
        output: BriefOutput,
        known: set[str],
        version: str,
        usage: TokenUsage,
        message_count: int,
        parts: int,
    ) -> Brief:
        kept, dropped = keep_traceable(output, known)
        return Brief(
            issue=kept.issue,
            timeline=kept.timeline,
            offered=kept.offered,
            declined=kept.declined,
            open_promises=open_promises(kept.open_promises, now=self._clock()),
            customer_mood=kept.customer_mood,
            next_step=kept.next_step,
            prompt_version=version,
            usage=usage,
            message_count=message_count,
            dropped=dropped,
            parts=parts,
            llm_calls=1,
        )


def _thinned(summary: BriefOutput, keep: int | None) -> BriefOutput:
    """At most ``keep`` timeline entries, spread over the part (first and last kept)."""
    if keep is None:
        return summary
    step = (len(summary.timeline) - 1) / max(keep - 1, 1)
    picked = sorted({round(i * step) for i in range(min(keep, len(summary.timeline)))})
    return summary.model_copy(
        update={
            "timeline": [summary.timeline[i] for i in picked],
            # The combine call takes the mood and next step of the end; earlier parts' in short.
            "issue": summary.issue[:_SHORT],
            "customer_mood": summary.customer_mood[:_SHORT],
            "next_step": summary.next_step[:_SHORT],
        }
    )


def _part_element(number: int, first: str, last: str, part: BriefOutput) -> str:
    """One part's summary as data for the combine call.

    The model wrote it from customer text, so it is defused like customer
    text; its ``first``/``last`` attributes are ours.
    """
    # Empty fields say nothing and cost tokens in every part.
    data = {k: v for k, v in part.model_dump(mode="json").items() if v not in ([], "")}
    body = delimit(json.dumps(data, ensure_ascii=False, separators=(",", ":")), "part")
    return f'<part number="{number}" first="{first}" last="{last}">' + body.removeprefix("<part>")

"""What the eval reads from the store: ``tactful eval import`` and ``tactful eval stored``.

``import`` writes case files from stored complaints and the replies agents sent.

Only complaints whose reply was sent are imported: the reply an agent
approved (with their edits) is the best reference there is.  Its offers,
steps, language and escalation become the case's starting expectations, for
a manager to review.  Personal data is redacted from every text before it is
written, because case files are committed to git.

``stored`` (the first eval, before case files) drafts the last stored
complaints again with the prompts under test and sets each beside the draft
agents saw; ``app.domain.evaluation`` does the comparing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from app.domain.draft_life import DraftState
from app.domain.evaluation import Baseline, Case, EvalReport, replay
from app.domain.models import Complaint
from app.domain.redact import redact
from app.evals.cases import EvalCase
from app.settings import Settings
from app.store import Store
from app.store.records import Complaint as StoredComplaint
from app.store.records import Draft

HEADER = (
    "# Imported by `tactful eval import` from stored complaint #{id}.\n"
    "# Personal data is redacted. The expectations come from the reply the agent sent:\n"
    "# review them before this case gates prompt changes (format: evals/README.md).\n"
)


@dataclass(frozen=True)
class Imported:
    written: list[Path]
    skipped: list[Path]  # a case file of that name already exists


def case_from_stored(complaint: StoredComplaint, draft: Draft) -> EvalCase | None:
    """The case for one stored complaint, or None when no reply was sent for it."""
    sent = draft.final_text
    if draft.status != DraftState.SENT or not sent:
        return None
    expect: dict[str, Any] = {
        "steps_covered": [step.value for step, done in draft.checklist.items() if done],
    }
    offer_ids = [offer.offer_id for offer in draft.offers]
    if offer_ids:
        expect["offers_allowed"] = offer_ids
        expect["offers_count"] = {"min": 1, "max": len(offer_ids)}
    if draft.triage is not None:
        expect["language"] = draft.triage.language.strip().lower()[:2] or None
        expect["escalate"] = draft.triage.needs_escalation
    fields: dict[str, Any] = {
        "id": f"stored-{complaint.id}",
        "description": "Imported from the store; the agent sent reference_reply.",
        "customer_message": redact(complaint.text).text,
        "guidance": redact(complaint.guidance).text if complaint.guidance else None,
        "tone": draft.tone,
        "watched": complaint.source == "watch" and complaint.channel_kind != "relay",
        "relayed": complaint.channel_kind == "relay" or None,
        "customer_name": (complaint.user_name or None)
        if complaint.channel_kind == "relay"
        else None,
        "reference_reply": redact(sent).text,
        "expect": {k: v for k, v in expect.items() if v not in (None, [])},
    }
    return EvalCase.model_validate({k: v for k, v in fields.items() if v is not None})


def write_cases(
    past: Sequence[tuple[StoredComplaint, Draft]], directory: Path, *, overwrite: bool = False
) -> Imported:
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    skipped: list[Path] = []
    for complaint, draft in past:
        case = case_from_stored(complaint, draft)
        if case is None:
            continue
        path = directory / f"{case.id}.yaml"
        if path.exists() and not overwrite:
            skipped.append(path)
            continue
        path.write_text(HEADER.format(id=complaint.id) + dump_case(case), encoding="utf-8")
        written.append(path)
    return Imported(written, skipped)


def dump_case(case: EvalCase) -> str:
    data = case.model_dump(mode="json", exclude_defaults=True)
    data["expect"] = case.expect.model_dump(mode="json", exclude_defaults=True)
    return yaml.dump(data, Dumper=_CaseDumper, sort_keys=False, allow_unicode=True, width=100)


class _CaseDumper(yaml.SafeDumper):
    """Multi-line texts as ``|`` blocks, which read like the message they hold."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_CaseDumper.add_representer(str, _text)


async def replay_stored(
    settings: Settings,
    *,
    limit: int,
    days: int,
    status: Callable[..., AbstractContextManager[Any]],
) -> EvalReport | None:
    """The replay report, or None when nothing is stored to replay."""
    from app.runtime import build_drafting

    since = datetime.now(UTC) - timedelta(days=days) if days else None
    store = await Store.open(settings.database_url)
    try:
        past = await store.past_drafts(limit=limit, since=since)
    finally:
        await store.close()
    if not past:
        return None
    cases = [
        Case(
            label=f"#{complaint.id} {draft.triage.category if draft.triage else ''}".strip(),
            complaint=Complaint(text=complaint.text),
            baseline=Baseline(
                text=draft.final_text or draft.text,
                offer_ids=[o.offer_id for o in draft.offers],
                checklist=draft.checklist,
                flags=draft.flags,
                prompt_version=draft.prompt_version,
                outcome=draft.status,
            ),
        )
        for complaint, draft in past
    ]
    drafting = build_drafting(settings)
    try:
        with status(f"Replaying {len(cases)} complaints…", spinner="dots"):
            version = drafting.playbook.current().version
            return await replay(drafting.pipeline, cases, prompt_version=version)
    finally:
        await drafting.aclose()

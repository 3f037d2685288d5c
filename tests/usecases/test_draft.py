"""Drafting a stored complaint: the card follows the draft, and an outage loses nothing.

The real pipeline and LLM client talk to the fake OpenAI in-process (respx);
Slack is the faked port.
"""

from __future__ import annotations

import pytest

from app.domain.draft_life import DraftState
from app.domain.drafting import DraftingPipeline
from app.playbook import PlaybookSource
from app.store import NewComplaint, Store
from app.usecases.cards import CardDesk
from app.usecases.draft import ConversationReader, DraftComplaint
from app.usecases.regenerate import Regenerate
from tests.factories import PROMPTS_DIR, MakeClient, StoreFactory
from tests.fakes.openai_api import FakeOpenAI
from tests.usecases.conftest import FakeSlackPort


@pytest.fixture
def pipeline(make_client: MakeClient) -> DraftingPipeline:
    return DraftingPipeline(make_client(retry_deadline_s=1.0), PlaybookSource(PROMPTS_DIR).current)


@pytest.fixture
def reader(store: Store, slack: FakeSlackPort) -> ConversationReader:
    return ConversationReader(store, slack, max_history_chars=20_000)


@pytest.fixture
def drafter(
    store: Store, cards: CardDesk, reader: ConversationReader, pipeline: DraftingPipeline,
    fake_openai: FakeOpenAI,
) -> DraftComplaint:
    """The use case under test, its model answering through the fake OpenAI."""
    return DraftComplaint(store, pipeline, reader, cards)


async def stored(store: Store, text: str, *, source: str = "watch") -> int:
    accepted = await store.accept_complaint(
        complaint=NewComplaint(
            team_id="T1", channel_id="C_SUPPORT", message_ts="1712000000.000100",
            user_id="U_CUSTOMER", text=text, source=source,  # type: ignore[arg-type]
        )
    )
    assert accepted is not None
    return accepted.complaint_id



async def test_a_complaint_is_drafted_in_one_model_call_and_its_card_posted_filled(
    store: Store, slack: FakeSlackPort, drafter: DraftComplaint, fake_openai: FakeOpenAI
) -> None:
    complaint_id = await stored(store, "My parcel is a week late and nobody answers.")

    await drafter(complaint_id=complaint_id)

    draft = await store.latest_draft(complaint_id=complaint_id)
    assert draft is not None and draft.status == DraftState.PENDING and draft.text
    assert draft.triage is not None and draft.triage.kind == "complaint"
    assert [c["status"] for c in slack.called("post_card")] == [DraftState.PENDING]
    assert slack.called("update_card") == [], "no placeholder to fill in afterwards"
    assert len(fake_openai.requests) == 1


async def test_a_rerun_after_the_draft_was_stored_posts_its_card_without_the_model(
    store: Store, slack: FakeSlackPort, drafter: DraftComplaint, fake_openai: FakeOpenAI
) -> None:
    complaint_id = await stored(store, "My parcel is a week late and nobody answers.")
    # What a crash between storing the draft and posting its card leaves behind.
    draft = await store.start_draft(complaint_id=complaint_id)
    await store.save_draft_result(draft_id=draft.id, result=StoreFactory().result())

    await drafter(complaint_id=complaint_id)
    await drafter(complaint_id=complaint_id)

    assert fake_openai.requests == [], "the stored draft is never asked for again"
    assert [c["status"] for c in slack.called("post_card")] == [DraftState.PENDING]
    shown = await store.get_draft(draft_id=draft.id)
    assert shown is not None and shown.card_ts, "the second re-run finds the card and stops"


async def test_praise_is_counted_not_drafted(
    store: Store, slack: FakeSlackPort, drafter: DraftComplaint, fake_openai: FakeOpenAI
) -> None:
    complaint_id = await stored(store, "PRAISE-ONLY Your team was wonderful, thank you!")

    await drafter(complaint_id=complaint_id)

    assert await store.latest_draft(complaint_id=complaint_id) is None
    assert slack.called("post_card") == []
    assert len(fake_openai.requests) == 1, "sorted in the one call, no reply asked for"


async def test_praise_an_agent_asked_about_is_drafted(
    store: Store, slack: FakeSlackPort, drafter: DraftComplaint, fake_openai: FakeOpenAI
) -> None:
    complaint_id = await stored(
        store, "PRAISE-ONLY Your team was wonderful, thank you!", source="shortcut"
    )

    await drafter(complaint_id=complaint_id)

    draft = await store.latest_draft(complaint_id=complaint_id)
    assert draft is not None and draft.status == DraftState.PENDING and draft.text
    assert draft.triage is not None and draft.triage.kind == "praise"
    assert len(fake_openai.requests) == 1


async def test_an_llm_outage_ends_on_a_card_with_retry_and_retry_drafts_again(
    store: Store, slack: FakeSlackPort, drafter: DraftComplaint, fake_openai: FakeOpenAI
) -> None:
    complaint_id = await stored(store, "You charged me twice for March.")
    draft_complaint = drafter
    fake_openai.fail_next(503, times=20)

    await draft_complaint(complaint_id=complaint_id)

    failed = await store.latest_draft(complaint_id=complaint_id)
    assert failed is not None and failed.status == DraftState.FAILED and failed.error
    assert [c["status"] for c in slack.called("post_card")] == [DraftState.FAILED]
    fake_openai.recover()

    assert await draft_complaint.retry(draft_id=failed.id)
    await draft_complaint(complaint_id=complaint_id, force=True)

    again = await store.latest_draft(complaint_id=complaint_id)
    assert again is not None and again.status == DraftState.PENDING and again.card_ts == failed.card_ts


async def test_regenerating_in_another_tone_rewrites_the_pending_draft(
    store: Store, slack: FakeSlackPort, drafter: DraftComplaint, fake_openai: FakeOpenAI
) -> None:
    complaint_id = await stored(store, "My sofa arrived with a torn cushion.")
    await drafter(complaint_id=complaint_id)
    before = await store.latest_draft(complaint_id=complaint_id)
    assert before is not None
    regenerate = Regenerate(*drafter.collaborators())

    await regenerate.request(draft_id=before.id, user_id="U_AGENT", tone="formal",
                             guidance="mention dana@example.com")
    await regenerate(draft_id=before.id, user_id="U_AGENT", tone="formal", guidance=None)

    after = await store.get_draft(draft_id=before.id)
    assert after is not None and after.tone == "formal" and after.text != before.text
    jobs = [await store.claim_job(worker="w", lease_s=5) for _ in range(2)]
    queued = next(job for job in jobs if job is not None and job.kind == "regenerate")
    assert "dana@example.com" not in str(queued.payload), "guidance is redacted before it is kept"

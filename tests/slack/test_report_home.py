"""App Home shows the managers' report to managers (TACTFUL_MANAGERS) and to nobody else."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.signing import event_callback_body
from tests.fakes.slack_api import FakeSlack
from tests.slack.conftest import (
    AGENT,
    COLLEAGUE,
    GROUP_AGENT,
    RunningBot,
    approve_click,
    bot_settings,
    start_bot,
    stop_bot,
    wait_until,
)

HEADER = "Manager report"


async def open_home(running: RunningBot, *users: str) -> dict[str, str]:
    for n, user in enumerate(users):
        event = {"type": "app_home_opened", "user": user, "tab": "home", "channel": "D0HOME"}
        status, _ = await running.post(event_callback_body(event, event_id=f"EvHOMEREPORT{n}"))
        assert status == 200
    await wait_until(lambda: len(running.slack.workspace.home_tabs) == len(users))
    return {u: str(running.slack.workspace.home_tabs[u]["blocks"]) for u in users}


@pytest.fixture
async def managed(slack: FakeSlack, llm: FakeOpenAI, database_url: str) -> AsyncIterator[RunningBot]:
    settings = bot_settings(slack, llm, database_url, TACTFUL_MANAGERS=AGENT)
    running = await start_bot(settings, slack, llm)
    try:
        yield running
    finally:
        await stop_bot(running)


async def test_the_manager_sees_the_report_other_agents_and_colleagues_do_not(
    managed: RunningBot,
) -> None:
    ts, _ = await managed.customer_says("The parcel came crushed, second time this month.")
    draft = await managed.card_for(ts)
    await managed.post(approve_click(draft))
    await managed.card_for(ts, status="sent")

    homes = await open_home(managed, AGENT, GROUP_AGENT, COLLEAGUE)

    assert HEADER in homes[AGENT]
    assert f"`{draft.prompt_version}`: 1 drafts, 100% accepted, 0% edited" in homes[AGENT]
    assert "*By category*" in homes[AGENT] and "delivery" in homes[AGENT]
    assert HEADER not in homes[GROUP_AGENT] and "Acceptance rate" in homes[GROUP_AGENT]
    assert HEADER not in homes[COLLEAGUE] and "Acceptance rate" not in homes[COLLEAGUE]


async def test_without_managers_set_every_agent_is_one(running: RunningBot) -> None:
    homes = await open_home(running, GROUP_AGENT, COLLEAGUE)

    assert HEADER in homes[GROUP_AGENT]
    assert HEADER not in homes[COLLEAGUE]

"""Per-channel playbooks through the running bot: each channel drafts with its own playbook,
every draft records which one and its version, and a manager hears in Slack, once, when an
edited file is rejected (file and line) and when it is fixed."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from app.domain.models import FirstDraftOutput
from app.store import Draft
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.signing import event_callback_body
from tests.fakes.slack_api import FakeSlack, SlackCall
from tests.fakes.support_workspace import PROMPTS_DIR

from .conftest import AGENT, SUPPORT, RunningBot, bot_settings, start_bot, stop_bot, wait_until
from .flows import non_user_texts, user_texts

BUSINESS = "C0BUSINESS"  # a second support channel, served by the enterprise playbook
MANAGERS = "C0MANAGERS"
RELAYS = "C0RELAYS"  # an internal channel a relay playbook names; watched as a relay channel


def write(path: Path, text: str) -> None:
    """Save as an editor would; the mtime moves on so the next check sees the change."""
    stamp = path.stat().st_mtime_ns
    path.write_text(text)
    os.utime(path, ns=(stamp + 10**9, stamp + 10**9))


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    write(path, text.replace(old, new, 1))


@pytest.fixture
def prompts(tmp_path: Path) -> Path:
    """The shipped prompts, with the enterprise playbook mapped to the business channel."""
    target = tmp_path / "prompts"
    shutil.copytree(PROMPTS_DIR, target)
    edit(
        target / "playbooks.yaml",
        "    channels: []\n",
        f"    channels: [{BUSINESS}]\n    sign_off_name: Jordan at Brightwell for Business\n",
    )
    mapping = target / "playbooks.yaml"
    write(
        mapping,
        f"{mapping.read_text()}  relays:\n    dir: .\n    kind: relay\n    channels: [{RELAYS}]\n",
    )
    return target


@pytest.fixture
async def running(
    slack: FakeSlack, llm: FakeOpenAI, database_url: str, prompts: Path
) -> AsyncIterator[RunningBot]:
    slack.seed(
        {
            "channels": {
                BUSINESS: {"is_ext_shared": True, "name": "acme-business"},
                MANAGERS: {"name": "support-managers"},
            }
        }
    )
    settings = bot_settings(
        slack,
        llm,
        database_url,
        TACTFUL_PROMPTS_DIR=str(prompts),
        TACTFUL_SUPPORT_CHANNELS=f"{SUPPORT},{BUSINESS}",
        TACTFUL_MANAGER_CHANNEL=MANAGERS,
        TACTFUL_PLAYBOOK_RELOAD_SECONDS="0.05",
    )
    bot = await start_bot(settings, slack, llm)
    try:
        yield bot
    finally:
        await stop_bot(bot)


async def drafted(running: RunningBot, channel: str, ts: str) -> Draft:
    """The message's draft once its card is up."""

    async def probe() -> Draft | None:
        complaint = await running.store.find_complaint(
            channel_id=channel, message_ts=ts, source="watch"
        )
        draft = complaint and await running.store.latest_draft(complaint_id=complaint.id)
        return draft if draft is not None and draft.status == "pending" and draft.card_ts else None

    return await wait_until(probe)  # type: ignore[no-any-return]


def draft_request(llm: FakeOpenAI, words: str) -> dict[str, Any]:
    """The first-draft request the model received for the customer message with ``words``."""
    found = [
        r for r in llm.requests_for(FirstDraftOutput) if any(words in t for t in user_texts(r))
    ]
    assert len(found) == 1
    return found[0]


def manager_posts(slack: FakeSlack) -> list[SlackCall]:
    return [
        c for c in slack.calls_to("chat.postMessage") if c.args.get("channel") == MANAGERS and c.ok
    ]


def shown(call: SlackCall) -> str:
    blocks = call.args.get("blocks")
    return f"{call.args.get('text')}\n{blocks if isinstance(blocks, str) else json.dumps(blocks)}"


async def test_each_channel_drafts_with_its_own_playbook_and_each_draft_records_it(
    running: RunningBot, llm: FakeOpenAI
) -> None:
    router = running.bot.drafting.playbook  # type: ignore[union-attr]
    shop_ts, _ = await running.customer_says(
        "My kettle arrived with a cracked lid, order 5521. I wanted it for the weekend."
    )
    office_ts, _ = await running.customer_says(
        "Half of the 40 monitors for our new Leeds office arrived broken, PO 77-310.",
        channel=BUSINESS,
    )

    shop = await drafted(running, SUPPORT, shop_ts)
    office = await drafted(running, BUSINESS, office_ts)

    assert (shop.playbook, shop.prompt_version) == ("standard", router.named("standard").version)
    assert (office.playbook, office.prompt_version) == (
        "enterprise",
        router.named("enterprise").version,
    )
    assert office.prompt_version != shop.prompt_version

    office_system = "\n".join(non_user_texts(draft_request(llm, "Leeds office")))
    shop_system = "\n".join(non_user_texts(draft_request(llm, "cracked lid")))
    # Brand voice, catalog, default tone and sign-off: each channel's own.
    assert "Brightwell for Business" in office_system
    assert "service_credit" in office_system and "express_reship" not in office_system
    assert "Tone for this draft: formal" in office_system
    assert "Jordan at Brightwell for Business" in office_system
    assert "Brightwell for Business" not in shop_system
    assert "express_reship" in shop_system and "service_credit" not in shop_system
    assert "Tone for this draft" not in shop_system


async def test_a_broken_edit_is_told_to_managers_once_with_file_and_line_and_so_is_the_fix(
    running: RunningBot, slack: FakeSlack, prompts: Path
) -> None:
    router = running.bot.drafting.playbook  # type: ignore[union-attr]
    good = router.named("enterprise")
    offers = prompts / "playbooks" / "enterprise" / "offers.yaml"

    edit(offers, "max: 10", "max: ten")
    line = offers.read_text().splitlines().index("    max: ten") + 1
    await wait_until(lambda: manager_posts(slack))
    # Several more reload checks find the same problem: nothing more is posted.
    office_ts, _ = await running.customer_says(
        "The chairs for our Bristol site never came.", channel=BUSINESS
    )
    office = await drafted(running, BUSINESS, office_ts)

    [alert] = manager_posts(slack)
    assert f"prompts/playbooks/enterprise/offers.yaml:{line}: offers[1].max" in shown(alert)
    assert "last good version" in shown(alert)
    # The last good enterprise playbook keeps drafting for its channel.
    assert (office.playbook, office.prompt_version) == ("enterprise", good.version)
    # Managers see the same problem in App Home (every agent is one without TACTFUL_MANAGERS).
    home = {"type": "app_home_opened", "user": AGENT, "tab": "home", "channel": "D0HOME"}
    status, _ = await running.post(event_callback_body(home, event_id="EvPLAYBOOKHOME"))
    assert status == 200
    await wait_until(lambda: AGENT in slack.workspace.home_tabs)
    home_text = json.dumps(slack.workspace.home_tabs[AGENT]["blocks"])
    assert f"playbooks/enterprise/offers.yaml:{line}" in home_text

    edit(offers, "max: ten", "max: 12")
    await wait_until(lambda: len(manager_posts(slack)) == 2)
    fixed = manager_posts(slack)[1]
    assert "fixed" in shown(fixed)
    assert router.named("enterprise").version in shown(fixed)
    assert router.named("enterprise").catalog["service_credit"].max == 12

    health = await (await running.session.get(f"{running.url}/healthz")).json()
    assert health["prompt_errors"] == []


async def test_the_channels_of_a_relay_playbook_are_watched_as_relay_channels(
    running: RunningBot,
) -> None:
    channels = running.bot.desk.intake.channels  # type: ignore[union-attr]

    assert channels.is_relay(RELAYS)
    assert not channels.is_relay(BUSINESS) and BUSINESS in channels.watched

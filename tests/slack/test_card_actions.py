import json
from tests.slack.conftest import RunningBot, REVIEW

async def test_dump(running: RunningBot) -> None:
    ts, _ = await running.customer_says("My order never arrived and I'm angry. Order 4821.")
    draft = await running.card_for(ts)
    cards = [c for c in running.slack.calls if c.method in ("chat.postMessage", "chat.update")]
    out = {"calls": [(c.method, c.args) for c in cards], "llm": running.llm.requests, "all": [c.method for c in running.slack.calls]}
    open("/tmp/hscratch/dump.json", "w").write(json.dumps(out, indent=1, default=str))

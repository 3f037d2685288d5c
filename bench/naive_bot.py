"""The simplest bot that drafts replies to complaints: the baseline ``burst_compare`` measures.

For each customer message it drafts inside the Bolt listener, before Slack
gets its ack (``process_before_response``): one LLM call with the OpenAI SDK,
then one ``chat.postMessage`` of a card (the customer's words, the draft, an
"Approve & send" button) to the review channel.  No store, no queue, no
pacing, no retry: what a few dozen lines of Bolt give.  Slack's redeliveries
(``X-Slack-Retry-Num``) are acked without work, the usual advice, or every
slow ack would be drafted twice.

Settings come from the same variables as tactful's (SLACK_BOT_TOKEN,
SLACK_SIGNING_SECRET, SLACK_API_URL, OPENAI_*, TACTFUL_MODEL,
TACTFUL_REVIEW_CHANNEL)::

    python -m bench.naive_bot --port 3001
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from openai import AsyncOpenAI
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

SYSTEM = (
    "You draft an empathetic reply to a customer complaint, for a support agent to approve. "
    "Acknowledge the feeling, explain, offer two options, set expectations, apologize."
)


def build_bot(env: dict[str, str]) -> web.Application:
    app = AsyncApp(
        client=AsyncWebClient(token=env["SLACK_BOT_TOKEN"], base_url=env["SLACK_API_URL"]),
        signing_secret=env["SLACK_SIGNING_SECRET"],
        process_before_response=True,
    )
    llm = AsyncOpenAI(base_url=env["OPENAI_BASE_URL"], api_key=env["OPENAI_API_KEY"])
    review = env["TACTFUL_REVIEW_CHANNEL"]

    @app.middleware
    async def ack_retries_at_once(
        request: AsyncBoltRequest, next: Callable[[], Awaitable[BoltResponse]]  # noqa: A002
    ) -> BoltResponse:
        if request.headers.get("x-slack-retry-num"):
            return BoltResponse(status=200, body="")
        return await next()

    @app.event("message")
    async def draft(event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("subtype") or event.get("bot_id"):
            return
        completion = await llm.chat.completions.create(
            model=env.get("TACTFUL_MODEL", "gpt-4o-mini"),
            messages=[
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": event["text"]},
            ],
        )
        reply = completion.choices[0].message.content or ""
        await client.chat_postMessage(
            channel=review,
            text=f"Draft for <@{event['user']}>",
            blocks=[
                {"type": "section", "text": {"type": "mrkdwn", "text": f">{event['text'][:2900]}"}},
                {"type": "section", "text": {"type": "mrkdwn", "text": reply[:2900]}},
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "button",
                            "action_id": "approve_send",
                            "text": {"type": "plain_text", "text": "Approve & send"},
                            "value": event["ts"],
                        }
                    ],
                },
            ],
        )

    async def slack_events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    web_app = web.Application()
    web_app.router.add_post("/slack/events", slack_events)
    web_app.router.add_get("/healthz", healthz)
    return web_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3001)
    options = parser.parse_args(argv)
    web.run_app(
        build_bot(dict(os.environ)), host=options.host, port=options.port, print=None,
        access_log=None,
    )


if __name__ == "__main__":
    main()

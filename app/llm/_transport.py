"""The LLM client's HTTP transport: the SDK's aiohttp backend, with honest connect errors.

Under a burst there is a connection per draft in flight, and httpcore's
pure-Python pool cost about three times the CPU of aiohttp's C parser and
connector (``bench/README.md``), so requests go through ``httpx-aiohttp``, the
transport behind the SDK's ``openai[aiohttp]`` extra.

That transport maps every ``aiohttp.ClientConnectionError`` to
``httpx.ConnectTimeout``, so a refused connection or a dropped one would be
reported as "timed out after 30 s" and send whoever reads the log to the
timeout setting instead of the URL.  Only a real timeout stays a timeout here.
"""

from __future__ import annotations

import asyncio

import httpx
import openai
from httpx_aiohttp import AiohttpTransport


class LLMTransport(AiohttpTransport):
    """``httpx_aiohttp.AiohttpTransport`` that keeps "could not connect" apart from "timed out"."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        except httpx.ConnectTimeout as error:
            # aiohttp's timeouts (ServerTimeoutError, ConnectionTimeoutError) are
            # asyncio.TimeoutError subclasses; anything else never waited out a clock.
            if isinstance(error.__cause__, asyncio.TimeoutError):
                raise
            raise httpx.ConnectError(str(error), request=request) from error.__cause__


def llm_http_client() -> httpx.AsyncClient:
    """The httpx client ``LLMClient`` hands the SDK when the caller brings none."""
    # The SDK's own limits; aiohttp reads the connection cap and keep-alive from them.
    limits = openai.DEFAULT_CONNECTION_LIMITS
    return openai.DefaultAioHttpClient(transport=LLMTransport(limits=limits))

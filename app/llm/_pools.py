"""The LLM client's connections: several small pools instead of one large one.

httpcore's pool walks all of its connections for each of its connections
every time a request starts or ends, so its CPU grows with the square of the
pool's size.  A burst of drafts keeps a connection per request in flight
(hundreds), and that walk became the LLM client's largest cost.  Requests go
round-robin to ``POOLS`` pools that each hold a share of the same total
limits, which makes the walk about ``POOLS`` squared times cheaper.
"""

from __future__ import annotations

import itertools
import math

import httpx

POOLS = 8
# The OpenAI SDK's own defaults, shared out between the pools.
CONNECTION_LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=100)


class PooledTransport(httpx.AsyncBaseTransport):
    """Round-robin over ``pools`` httpx transports that share one TLS context."""

    def __init__(self, *, pools: int = POOLS, limits: httpx.Limits = CONNECTION_LIMITS) -> None:
        share = httpx.Limits(
            max_connections=_share(limits.max_connections, pools),
            max_keepalive_connections=_share(limits.max_keepalive_connections, pools),
            keepalive_expiry=limits.keepalive_expiry,
        )
        # One context (httpx's default: certifi, or SSL_CERT_FILE / SSL_CERT_DIR):
        # loading the CA bundle once per pool would cost memory for nothing.
        tls = httpx.create_ssl_context()
        self._pools = [httpx.AsyncHTTPTransport(verify=tls, limits=share) for _ in range(pools)]
        self._next = itertools.cycle(self._pools)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await next(self._next).handle_async_request(request)

    async def aclose(self) -> None:
        for pool in self._pools:
            await pool.aclose()


def _share(total: int | None, pools: int) -> int | None:
    return None if total is None else max(1, math.ceil(total / pools))

"""The one retry policy for LLM calls: what is retried, how long to wait, when to stop.

The OpenAI SDK's own retries are switched off (``max_retries=0``) so this is
the only layer.  Only failures that a later attempt can fix are retried:
timeouts, lost connections, 408/409/429 and 5xx.  A 400 or 401 will say the
same thing every time, so it is reported at once.

The wait honours what the server asks for (``retry-after-ms``, then
``Retry-After`` as seconds or an HTTP date), capped so that a server asking
for ten minutes cannot stall a draft; without a hint it backs off
exponentially with jitter so several workers do not retry in lockstep.
"""

from __future__ import annotations

import email.utils
import math
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import httpx
import openai
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception
from tenacity.stop import stop_after_attempt, stop_before_delay
from tenacity.wait import wait_base

from app.llm._config import LLMConfig

RETRYABLE_STATUSES = frozenset({408, 409, 429, *range(500, 600)})

Sleep = Callable[[float], Awaitable[None]]
BeforeSleep = Callable[[RetryCallState], None]


def is_retryable(exc: BaseException) -> bool:
    # APITimeoutError is a subclass of APIConnectionError.
    if isinstance(exc, openai.APIConnectionError):
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in RETRYABLE_STATUSES
    return False


def retry_after_seconds(headers: httpx.Headers, *, now: datetime | None = None) -> float | None:
    """Seconds the server asked us to wait, or None when it did not say (or said nonsense)."""
    millis = _finite_non_negative(headers.get("retry-after-ms"))
    if millis is not None:
        return millis / 1000
    value = headers.get("retry-after")
    if value is None:
        return None
    seconds = _finite_non_negative(value)
    if seconds is not None:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class WaitRetryAfterOrBackoff(wait_base):
    """Tenacity wait: the server's Retry-After when it gives one, else jittered backoff.

    Backoff after attempt n is ``base * 2**(n-1)`` plus up to ``base`` of
    random jitter, never more than ``max_backoff_s``.
    """

    def __init__(
        self,
        *,
        max_retry_after_s: float,
        base_s: float = 0.5,
        max_backoff_s: float = 8.0,
        random_fraction: Callable[[], float] = random.random,
    ) -> None:
        self.max_retry_after_s = max_retry_after_s
        self.base_s = base_s
        self.max_backoff_s = max_backoff_s
        self._random_fraction = random_fraction

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        failure = outcome.exception() if outcome is not None and outcome.failed else None
        if isinstance(failure, openai.APIStatusError):
            asked = retry_after_seconds(failure.response.headers)
            if asked is not None:
                return min(asked, self.max_retry_after_s)
        return self.backoff(retry_state.attempt_number)

    def backoff(self, attempt_number: int) -> float:
        # The exponent is capped so a huge attempt count cannot overflow.
        exponential = self.base_s * 2.0 ** min(max(attempt_number - 1, 0), 30)
        jitter = self.base_s * self._random_fraction()
        return min(self.max_backoff_s, exponential + jitter)


def retry_policy(
    config: LLMConfig, *, sleep: Sleep, before_sleep: BeforeSleep | None = None
) -> AsyncRetrying:
    """A fresh tenacity controller for one exchange with the server.

    It stops after ``max_attempts``, or as soon as the next wait would carry
    the exchange past ``retry_deadline_s``; ``reraise`` hands back the last
    openai error so the caller can say what went wrong.
    """
    return AsyncRetrying(
        retry=retry_if_exception(is_retryable),
        wait=WaitRetryAfterOrBackoff(max_retry_after_s=config.max_retry_after_s),
        stop=stop_after_attempt(config.max_attempts) | stop_before_delay(config.retry_deadline_s),
        sleep=sleep,
        before_sleep=before_sleep,
        reraise=True,
    )


def _finite_non_negative(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    if not math.isfinite(number) or number < 0:
        return None
    return number

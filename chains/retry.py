"""Retries with exponential back-off and full jitter, shared by every adapter's transport.

Written here rather than taken from urllib3's ``Retry`` because the same policy must wrap JSON-RPC errors that
arrive with HTTP 200 (a node saying "rate limited" in the body) as well as HTTP 429/5xx, and because web3.py's own
retry has no jitter: a fleet of workers retrying in lockstep is what keeps a struggling node down.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from chains.types import TransportError

T = TypeVar("T")


class Retryable(Exception):
    """Raised inside a transport call for a failure worth another try (transport error, 429, 5xx)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    base_seconds: float = 0.5
    max_seconds: float = 30.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Full jitter (AWS architecture blog): uniform in [0, min(cap, base * 2**attempt)]."""
        if retry_after is not None:
            return min(self.max_seconds, retry_after)
        return random.uniform(0, min(self.max_seconds, self.base_seconds * 2**attempt))


def call_with_retry(fn: Callable[[], T], policy: RetryPolicy, sleep: Callable[[float], None] = time.sleep) -> T:
    last = "no attempt"
    for attempt in range(max(1, policy.attempts)):
        try:
            return fn()
        except Retryable as e:
            last = e.reason
            if attempt + 1 < policy.attempts:
                sleep(policy.delay(attempt, e.retry_after))
    raise TransportError(f"gave up after {policy.attempts} attempts: {last}")

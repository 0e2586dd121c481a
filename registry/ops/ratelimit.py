"""Per-key request rate limits (token buckets, per worker process).

In memory, because the limit is checked on every request including screening at payment time; a shared counter
in the database or Redis would cost a round trip. With N workers a key may get up to N times the rate; the
limit is there to stop a runaway client, not to meter usage.
"""

from __future__ import annotations

import math
import time

from registry.errors import RateLimited


class RateLimiter:
    def __init__(self, per_second: float, burst: float) -> None:
        self.rate = per_second
        self.burst = max(burst, 1.0)
        self._buckets: dict[int, list[float]] = {}

    def check(self, key_id: int, cost: float = 1.0) -> None:
        now = time.monotonic()
        b = self._buckets.get(key_id)
        if b is None:
            b = self._buckets[key_id] = [self.burst, now]
        tokens = min(self.burst, b[0] + (now - b[1]) * self.rate)
        b[1] = now
        if tokens < cost:
            b[0] = tokens
            wait = max(1, math.ceil((cost - tokens) / self.rate)) if self.rate > 0 else 60
            raise RateLimited(
                f"rate limit of {self.rate:g} requests/s for this key exceeded; retry after {wait} s",
                retry_after=wait,
            )
        b[0] = tokens - cost

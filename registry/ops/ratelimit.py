"""Per-key rate limits (token buckets, per worker process): one budget of requests, and further budgets of other
units, such as screened addresses.

In memory, because the limit is checked on every request including screening at payment time; a shared counter
in the database or Redis would cost a round trip. With N workers a key may get up to N times the rate; the
limit is there to stop a runaway client, not to meter usage.

Requests alone are the wrong unit for a batch: one request of 10,000 addresses costs the server 10,000 times one
screen, so ``/v1/screen`` and ``/v1/screen/batch`` also take one token per address from the ``addresses`` budget
(``REGISTRY_RATE_LIMIT_ADDRESSES_PER_SECOND``, ``…_BURST``), which each key has apart from its requests.
"""

from __future__ import annotations

import math
import time

from registry.errors import RateLimited


class TokenBuckets:
    """One bucket per key of ``burst`` tokens, refilled at ``per_second``; ``take`` spends or raises 429."""

    def __init__(self, unit: str, per_second: float, burst: float) -> None:
        self.unit = unit
        self.rate = per_second
        self.configured = (per_second, burst)
        self.burst = max(burst, 1.0)
        self._buckets: dict[int, list[float]] = {}

    def take(self, key_id: int, cost: float = 1.0) -> None:
        now = time.monotonic()
        b = self._buckets.get(key_id)
        if b is None:
            b = self._buckets[key_id] = [self.burst, now]
        tokens = min(self.burst, b[0] + (now - b[1]) * self.rate)
        b[1] = now
        # More than a full bucket can never be there at once: such a request waits for a full bucket instead.
        cost = min(cost, self.burst)
        if tokens < cost:
            b[0] = tokens  # nothing is spent by a refused request
            wait = max(1, math.ceil((cost - tokens) / self.rate)) if self.rate > 0 else 60
            raise RateLimited(
                f"rate limit of {self.rate:g} {self.unit}/s for this key exceeded; retry after {wait} s",
                retry_after=wait,
            )
        b[0] = tokens - cost


class RateLimiter:
    """The request budget (``check``) and, created on first use, budgets of other units (``budget``)."""

    def __init__(self, per_second: float, burst: float) -> None:
        self.requests = TokenBuckets("requests", per_second, burst)
        self._budgets: dict[str, TokenBuckets] = {}

    @property
    def rate(self) -> float:
        return self.requests.rate

    @property
    def burst(self) -> float:
        return self.requests.burst

    def check(self, key_id: int, cost: float = 1.0) -> None:
        """One request (``cost`` of them) from the key's request budget; raises ``RateLimited`` (429)."""
        self.requests.take(key_id, cost)

    def budget(self, unit: str, per_second: float, burst: float) -> TokenBuckets:
        """The per-key buckets of ``unit`` at this rate (made on first use; remade if the rate is changed)."""
        found = self._budgets.get(unit)
        if found is None or found.configured != (per_second, burst):
            found = self._budgets[unit] = TokenBuckets(unit, per_second, burst)
        return found

"""Per-client token buckets for pages anyone can reach: the console's sign-in and the public check.

The kernel's buckets (``registry.ops.ratelimit``) are per API key, and keys are few and known; here the clients
are addresses on the internet, unbounded in number, so the table is bounded: the least recently seen clients are
forgotten first (an ``OrderedDict`` as the LRU), which at worst gives a forgotten client a fresh bucket.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict

from registry.errors import RateLimited


class ClientBuckets:
    def __init__(self, per_minute: float, burst: float, max_clients: int = 100_000) -> None:
        self.rate = per_minute / 60.0
        self.burst = max(burst, 1.0)
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, client: str, what: str) -> None:
        """One request of ``client``; raises ``RateLimited`` (429 with ``Retry-After``) when its bucket is empty."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.pop(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[client] = (tokens, now)
                wait = max(1, math.ceil((1.0 - tokens) / self.rate))
                raise RateLimited(f"too many {what} from your address; retry after {wait} s", retry_after=wait)
            self._buckets[client] = (tokens - 1.0, now)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)


def client_address(scope_client: tuple[str, int] | None) -> str:
    """The client's address as the server saw it (uvicorn puts the proxy's ``X-Forwarded-For`` there when the
    proxy is trusted: ``FORWARDED_ALLOW_IPS``)."""
    return scope_client[0] if scope_client else "unknown"

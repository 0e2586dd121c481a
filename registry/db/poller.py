"""A background thread that keeps an in-memory copy current by polling version counters.

Screening snapshots and blocklist feeds are both served from memory and reloaded when a counter in
``registry_state`` moves; this is the loop they share. A failed refresh is logged and the last good copy stays
in force: a database blip must never empty what banks and ISPs are served.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("registry.poller")


class Poller:
    thread_name = "poller"

    def __init__(self, poll_seconds: float) -> None:
        self._poll = poll_seconds
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def refresh(self, force: bool = False) -> bool:
        raise NotImplementedError

    def tick(self) -> None:
        """One poll; subclasses may do more than refresh."""
        self.refresh()

    def nudge(self) -> None:
        """Check now rather than at the next poll (this process made the change)."""
        self._wake.set()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._poll)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.tick()
            except Exception:
                log.exception("%s: refresh failed; the last good copy stays in force", self.thread_name)


class Every(Poller):
    """Calls ``func`` every ``poll_seconds`` on a thread of its own.

    The key cache is refreshed by one of these beside the snapshot poller, not inside it: a snapshot load that
    waits (a long read, a pool under load) must never delay the refresh that makes a revoked key stop working."""

    def __init__(self, poll_seconds: float, func: Callable[[], None], thread_name: str) -> None:
        super().__init__(poll_seconds)
        self._func = func
        self.thread_name = thread_name

    def refresh(self, force: bool = False) -> bool:
        self._func()
        return True

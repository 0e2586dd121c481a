"""Rendered feeds in memory, per worker, swapped in whole when the serial moves.

ISPs poll every few minutes with ``If-None-Match``; answering that must cost no query and no rendering. A
background thread reads the serial every ``REGISTRY_FEED_POLL_SECONDS`` and re-renders only when it moved; when
it did not move but the signing period turned (less than half of ``REGISTRY_FEED_VALIDITY_SECONDS`` left on the
manifest), it signs a new manifest over the same files, so an unchanged feed never goes stale at an ISP.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy.engine import Engine

from blocklist.feeds.queries import read_serial
from blocklist.feeds.render import FORMATS, render
from blocklist.feeds.service import FeedData, load_feed
from blocklist.feeds.signing import Signer, build_manifest, signing_period
from registry.db.engine import read_only
from registry.db.poller import Poller

log = logging.getLogger("blocklist.feeds")


@dataclass(frozen=True)
class Published:
    serial: int
    bodies: dict[str, bytes] = field(default_factory=dict)
    etags: dict[str, str] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)
    manifest_body: bytes = b""
    manifest_etag: str = ""
    # Ready-made 304 headers per format ("manifest" for the manifest), so the short cut only compares bytes.
    not_modified: dict[str, tuple[bytes, list[tuple[bytes, bytes]]]] = field(default_factory=dict)
    signed_period: int = -1
    """Start of the signing period of the manifest (its ``generated_at``, Unix seconds)."""


def _not_modified(serial: int, etags: dict[str, str]) -> dict[str, tuple[bytes, list[tuple[bytes, bytes]]]]:
    return {
        name: (
            etag.encode(),
            [
                (b"etag", etag.encode()),
                (b"x-blocklist-serial", str(serial).encode()),
                (b"cache-control", b"no-cache"),
            ],
        )
        for name, etag in etags.items()
    }


def publish(feed: FeedData, signer: Signer, now: float | None = None) -> Published:
    bodies = {fmt: render(fmt, feed) for fmt in FORMATS}
    etags = {fmt: f'"{feed.serial}-{hashlib.sha256(b).hexdigest()[:20]}"' for fmt, b in bodies.items()}
    return sign(Published(feed.serial, bodies, etags), signer, now)


def sign(pub: Published, signer: Signer, now: float | None = None) -> Published:
    """``pub`` with a manifest signed in the signing period of ``now``; the files and their ETags are kept."""
    now = time.time() if now is None else now
    manifest = build_manifest(pub.serial, pub.bodies, signer, now)
    body = orjson.dumps(manifest)
    manifest_etag = f'"{pub.serial}-m{hashlib.sha256(body).hexdigest()[:20]}"'
    return dataclasses.replace(
        pub,
        manifest=manifest,
        manifest_body=body,
        manifest_etag=manifest_etag,
        not_modified=_not_modified(pub.serial, {**pub.etags, "manifest": manifest_etag}),
        signed_period=signing_period(now, signer.validity_seconds),
    )


class FeedCache(Poller):
    thread_name = "blocklist-feed-poller"

    def __init__(
        self, engine: Engine, signer: Signer, poll_seconds: float, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__(poll_seconds)
        self._engine = read_only(engine)  # pure reads: on SQLite they must not take the write lock
        self.signer = signer
        self.current = Published(serial=-1)
        self._lock = threading.Lock()
        self._clock = clock

    def refresh(self, force: bool = False) -> bool:
        with self._lock:
            now = self._clock()
            with self._engine.connect() as conn:
                if not force and read_serial(conn) == self.current.serial:
                    if self.current.signed_period == signing_period(now, self.signer.validity_seconds):
                        return False
                    self.current = sign(self.current, self.signer, now)  # same files, fresh manifest
                    log.info(
                        "blocklist manifest signed again",
                        extra={"serial": self.current.serial, "generated_at": self.current.manifest["generated_at"]},
                    )
                    return True
                feed = load_feed(conn)
            started = time.perf_counter()
            self.current = publish(feed, self.signer, now)
            log.info(
                "blocklist feeds rendered",
                extra={
                    "serial": feed.serial,
                    "domains": len(feed.blocked),
                    "seconds": round(time.perf_counter() - started, 3),
                },
            )
            return True

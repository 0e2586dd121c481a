"""Rendered feeds in memory, per worker, swapped in whole when the serial moves.

ISPs poll every few minutes with ``If-None-Match``; answering that must cost no query and no rendering. A
background thread reads the serial every ``REGISTRY_FEED_POLL_SECONDS`` and re-renders only when it moved.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy.engine import Engine

from blocklist.feeds.render import FORMATS, render
from blocklist.feeds.signing import Signer, build_manifest
from blocklist.feeds.store import FeedData, load_feed, read_serial
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


def publish(feed: FeedData, signer: Signer) -> Published:
    bodies = {fmt: render(fmt, feed) for fmt in FORMATS}
    etags = {fmt: f'"{feed.serial}-{hashlib.sha256(b).hexdigest()[:20]}"' for fmt, b in bodies.items()}
    manifest = build_manifest(feed.serial, bodies, signer)
    body = orjson.dumps(manifest)
    manifest_etag = f'"{feed.serial}-m{hashlib.sha256(body).hexdigest()[:20]}"'
    not_modified = {
        name: (
            etag.encode(),
            [
                (b"etag", etag.encode()),
                (b"x-blocklist-serial", str(feed.serial).encode()),
                (b"cache-control", b"no-cache"),
            ],
        )
        for name, etag in [*etags.items(), ("manifest", manifest_etag)]
    }
    return Published(feed.serial, bodies, etags, manifest, body, manifest_etag, not_modified)


class FeedCache(Poller):
    thread_name = "blocklist-feed-poller"

    def __init__(self, engine: Engine, signer: Signer, poll_seconds: float) -> None:
        super().__init__(poll_seconds)
        self._engine = read_only(engine)  # pure reads: on SQLite they must not take the write lock
        self.signer = signer
        self.current = Published(serial=-1)
        self._lock = threading.Lock()

    def refresh(self, force: bool = False) -> bool:
        with self._lock:
            with self._engine.connect() as conn:
                if not force and read_serial(conn) == self.current.serial:
                    return False
                feed = load_feed(conn)
            started = time.perf_counter()
            self.current = publish(feed, self.signer)
            log.info(
                "blocklist feeds rendered",
                extra={
                    "serial": feed.serial,
                    "domains": len(feed.blocked),
                    "seconds": round(time.perf_counter() - started, 3),
                },
            )
            return True

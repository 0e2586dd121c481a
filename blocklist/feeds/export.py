"""Writing the feed files and the signed manifest to a directory (``REGISTRY_FEED_EXPORT_DIR``), for a web server
or a mirror that ISPs fetch from.

The files change only with the serial, the manifest also with the signing period: an exported manifest is signed
again when the period turns, like the one the API serves, or it would expire at ISPs while the feed stands still.
"""

from __future__ import annotations

import time
from pathlib import Path

import orjson

from blocklist.feeds.cache import publish
from blocklist.feeds.render import FILE_NAMES
from blocklist.feeds.service import FeedData
from blocklist.feeds.signing import Signer, iso_utc, signing_period

MARKER = "SERIAL"
MANIFEST = "manifest.json"


def export_feed(out: Path, feed: FeedData, signer: Signer, now: float | None = None) -> bool:
    """Write every format and ``manifest.json`` when the serial moved, only the manifest when the signing period
    turned; nothing otherwise. Each file is replaced atomically. Returns whether anything was written."""
    now = time.time() if now is None else now
    out.mkdir(parents=True, exist_ok=True)
    marker = out / MARKER
    serial_moved = not marker.exists() or marker.read_text().strip() != str(feed.serial)
    if not serial_moved and _signed_period(out / MANIFEST) == iso_utc(signing_period(now, signer.validity_seconds)):
        return False
    pub = publish(feed, signer, now)
    if serial_moved:
        for fmt, body in pub.bodies.items():
            _atomic_write(out / FILE_NAMES[fmt], body)
    _atomic_write(out / MANIFEST, orjson.dumps(pub.manifest, option=orjson.OPT_INDENT_2))
    if serial_moved:
        _atomic_write(marker, f"{feed.serial}\n".encode())
    return True


def _signed_period(path: Path) -> str | None:
    try:
        found = orjson.loads(path.read_bytes()).get("generated_at")
    except (OSError, orjson.JSONDecodeError, AttributeError):
        return None
    return found if isinstance(found, str) else None


def _atomic_write(path: Path, body: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(body)
    tmp.replace(path)

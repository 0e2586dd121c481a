"""Scheduled work: the daily register refresh, and publishing the feed and its files."""

from __future__ import annotations

import logging
from pathlib import Path

from blocklist.feeds.render import FILE_NAMES
from blocklist.settings import BlocklistSettings
from registry.ops.jobs import JobSpec
from registry.settings import Settings

log = logging.getLogger("blocklist.jobs")


def refresh_register_job(settings: BlocklistSettings) -> object:
    from blocklist.register.service import refresh_register
    from blocklist.register.sources import make_register
    from registry.db.engine import get_engine

    out = refresh_register(get_engine(), make_register(settings), settings.register_min_keep_ratio)
    if out.outcome in ("rejected", "failed"):
        log.warning("register refresh %s: %s", out.outcome, out.message)
    return out


def publish_job(settings: BlocklistSettings) -> object:
    """Repair drift, prune the change log, and (when configured) write every format and the manifest."""
    import orjson

    from blocklist.feeds.cache import publish
    from blocklist.feeds.signing import load_signer
    from blocklist.feeds.store import load_feed, prune_changes, reconcile
    from blocklist.register.service import ensure_seed
    from registry.db.engine import get_engine, read_only, session_scope

    engine = get_engine()
    ensure_seed(engine)
    with session_scope(engine) as s:
        repaired = reconcile(s)
        pruned = prune_changes(s, settings.feed_changes_kept)
    if repaired is not None:
        log.warning("feed drifted from the registry; repaired at serial %s", repaired)
    if settings.feed_export_dir:
        out = Path(settings.feed_export_dir)
        out.mkdir(parents=True, exist_ok=True)
        marker = out / "SERIAL"
        with read_only(engine).connect() as conn:
            feed = load_feed(conn)
        if not marker.exists() or marker.read_text().strip() != str(feed.serial):
            pub = publish(feed, load_signer(settings))
            for fmt, body in pub.bodies.items():
                _atomic_write(out / FILE_NAMES[fmt], body)
            _atomic_write(out / "manifest.json", orjson.dumps(pub.manifest, option=orjson.OPT_INDENT_2))
            _atomic_write(marker, f"{feed.serial}\n".encode())
    return {"repaired_serial": repaired, "pruned": pruned}


def _atomic_write(path: Path, body: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(body)
    tmp.replace(path)


def jobs(settings: Settings) -> list[JobSpec]:
    bl = BlocklistSettings()
    return [
        JobSpec(
            "blocklist:refresh-register",
            lambda: refresh_register_job(bl),
            bl.register_refresh_seconds,
            "fetch the AFSA register; apply it unless it looks wrong",
        ),
        JobSpec(
            "blocklist:publish",
            lambda: publish_job(bl),
            bl.feed_publish_seconds,
            "repair feed drift, prune the change log, write the feed files and signed manifest",
        ),
    ]

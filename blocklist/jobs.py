"""Scheduled work: the daily register refresh, and publishing the feed and its files."""

from __future__ import annotations

import logging
from pathlib import Path

from blocklist.settings import BlocklistSettings
from registry.ops.jobs import JobFailed, JobSpec
from registry.settings import Settings

log = logging.getLogger("blocklist.jobs")


REGISTER_HINT = (
    "REGISTRY_REGISTER_URL points it at a reachable mirror of the AFSA register, and an empty REGISTRY_REGISTER_URL "
    "turns the scheduled refresh off; meanwhile the last applied register (or the shipped seed) stays in force"
)


def refresh_register_job(settings: BlocklistSettings) -> object:
    """One refresh; a fetch that failed or was rejected raises ``JobFailed`` so the run is recorded as failed (the
    register keeps its last good copy either way, and the ``register_fetch`` row says why)."""
    from blocklist.register.refresh import refresh_register
    from blocklist.register.sources import make_register
    from registry.db.engine import get_engine

    out = refresh_register(get_engine(), make_register(settings), settings.register_min_keep_ratio)
    if out.outcome in ("rejected", "failed"):
        raise JobFailed(f"register fetch {out.outcome}: {out.message}", summary=out)
    return out


def publish_job(settings: BlocklistSettings) -> object:
    """Repair drift, prune the change log, and (when configured) write every format and the manifest."""
    from blocklist.feeds.export import export_feed
    from blocklist.feeds.service import load_feed, prune_changes, reconcile
    from blocklist.feeds.signing import load_signer
    from blocklist.register.seed import ensure_seed
    from registry.db.engine import get_engine, read_only, session_scope

    engine = get_engine()
    ensure_seed(engine)
    with session_scope(engine) as s:
        repaired = reconcile(s)
        pruned = prune_changes(s, settings.feed_changes_kept)
    if repaired is not None:
        log.warning("feed drifted from the registry; repaired at serial %s", repaired)
    if settings.feed_export_dir:
        # Written when the serial moves, and the manifest re-signed when its signing period turns, or the exported
        # manifest would expire at ISPs while the feed stands still.
        with read_only(engine).connect() as conn:
            feed = load_feed(conn)
        export_feed(Path(settings.feed_export_dir), feed, load_signer(settings))
    return {"repaired_serial": repaired, "pruned": pruned}


def jobs(settings: Settings) -> list[JobSpec]:
    bl = BlocklistSettings()
    out = [
        JobSpec(
            "blocklist:publish",
            lambda: publish_job(bl),
            bl.feed_publish_seconds,
            "repair feed drift, prune the change log, write the feed files and signed manifest",
        ),
    ]
    if bl.register_url.strip():  # empty: no scheduled refresh (a network without internet); the seed still loads
        out.insert(
            0,
            JobSpec(
                "blocklist:refresh-register",
                lambda: refresh_register_job(bl),
                bl.register_refresh_seconds,
                "fetch the AFSA register; apply it unless it looks wrong",
                hint=REGISTER_HINT,
            ),
        )
    return out

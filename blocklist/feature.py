"""The blocklist as a feature of the registry's app: its routes, the 304 short cut, the feed cache that starts with
the app, its jobs and ``registry blocklist …``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from blocklist import cli, jobs, routes
from blocklist.feeds import fastpath
from blocklist.feeds.cache import FeedCache
from blocklist.feeds.signing import load_signer
from blocklist.register.seed import ensure_seed
from blocklist.settings import BlocklistSettings
from registry.feature import Feature
from registry.http.deps import AppContext


@contextmanager
def lifespan(ctx: AppContext) -> Iterator[None]:
    """Per worker: seed the register on first start, render the feeds, keep them fresh (poller thread)."""
    settings = BlocklistSettings()  # production refuses to start here without REGISTRY_SIGNING_KEY
    ensure_seed(ctx.engine)
    cache = FeedCache(ctx.engine, load_signer(settings), settings.feed_poll_seconds)
    cache.refresh(force=True)
    cache.start()
    ctx.put(routes.FEEDS, cache)
    try:
        yield
    finally:
        cache.stop()


FEATURE = Feature(
    name="blocklist",
    routers=[routes.router],
    install=fastpath.install,
    lifespan=lifespan,
    jobs=jobs.jobs,
    cli=cli.register,
)

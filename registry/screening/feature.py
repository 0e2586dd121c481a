"""Screening: the two bank routes (also on the fast path), the in-memory snapshot and the screening log, which
start with the app, and the log's retention job."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from registry.feature import Feature
from registry.http.deps import AppContext
from registry.screening import jobs, routes


@contextmanager
def lifespan(ctx: AppContext) -> Iterator[None]:
    """Load the snapshot before the first screening, then keep it fresh (poller thread) and write the screening
    log (writer thread) until the app stops."""
    ctx.snapshot.refresh(force=True)
    ctx.snapshot.start()
    ctx.screening_log.start()
    try:
        yield
    finally:
        ctx.snapshot.stop()
        ctx.screening_log.stop()


FEATURE = Feature(
    name="screening",
    routers=[routes.router],
    fast_routes={"/v1/screen": routes.screen, "/v1/screen/batch": routes.screen_batch},
    lifespan=lifespan,
    jobs=jobs.jobs,
)

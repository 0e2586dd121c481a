"""Monitoring: bank watchlists, alerts when a watched wallet's risk changes, signed webhooks and the pull API.

The routes serve banks (their own watchlist, webhook and alerts) and the agency (counts). The work happens in the
worker: the ``monitoring:housekeeping`` job starts the alert loop and the delivery dispatcher
(``registry.monitoring.worker``) in whichever process runs the scheduler.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import FastAPI

from registry.feature import Feature, command_group
from registry.http.deps import AppContext
from registry.monitoring import cli, jobs, routes, worker
from registry.monitoring.settings import MonitoringSettings


def install(app: FastAPI, ctx: AppContext) -> None:
    ctx.put(routes.MONITORING, MonitoringSettings())


@contextmanager
def lifespan(ctx: AppContext) -> Iterator[None]:
    """Nothing to start (the scheduler's job starts the loops); on shut-down, stop the loops if this process ran
    them (``registry serve --scheduler``)."""
    try:
        yield
    finally:
        worker.stop(ctx.engine)


FEATURE = Feature(
    name="monitoring",
    routers=[routes.router],
    install=install,
    lifespan=lifespan,
    jobs=jobs.jobs,
    cli=command_group("monitoring", cli.app),
)

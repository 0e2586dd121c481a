"""The scheduler inside the API process, when this process is asked to run the jobs (``registry serve``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from registry.http.deps import AppContext, Slot

if TYPE_CHECKING:
    from registry.ops.scheduler import Scheduler

SCHEDULER: Slot[Scheduler] = Slot("ops.scheduler")
"""This process's scheduler, while the app runs with ``REGISTRY_RUN_SCHEDULER``; unset otherwise."""


@contextmanager
def lifespan(ctx: AppContext) -> Iterator[None]:
    if not ctx.settings.run_scheduler:
        yield
        return
    from registry.ops.scheduler import Scheduler  # APScheduler only in a process that runs the jobs

    scheduler = Scheduler(ctx.engine, ctx.settings, ctx.jobs(ctx.settings))
    ctx.put(SCHEDULER, scheduler)
    scheduler.start()
    try:
        yield
    finally:
        scheduler.shutdown()

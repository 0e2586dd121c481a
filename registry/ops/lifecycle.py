"""Starting the scheduler with the API when this process is asked to run the jobs (``registry serve``)."""

from __future__ import annotations

from fastapi import FastAPI

from registry.http.deps import AppContext


def install(app: FastAPI, ctx: AppContext) -> None:
    if not ctx.settings.run_scheduler:
        return
    from registry.ops.scheduler import Scheduler

    scheduler = Scheduler(ctx.engine, ctx.settings)
    ctx.scheduler = scheduler
    ctx.on_start.append(scheduler.start)
    ctx.on_stop.append(scheduler.shutdown)

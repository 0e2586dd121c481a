from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from registry.http.deps import AdminKey, CtxDep, SessionDep
from registry.ops import queries

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Alive: the process answers. Readiness (database, migrations, snapshot) is /readyz."""
    return {"status": "ok"}


class JobState(BaseModel):
    id: str
    description: str
    interval_seconds: float
    last_started_at: datetime | None
    last_finished_at: datetime | None
    last_duration_seconds: float | None
    last_outcome: str | None
    last_error: str | None
    last_summary: str | None
    running: bool
    next_run_at: datetime | None
    scheduled_here: bool


@router.get("/v1/jobs", response_model=list[JobState], tags=["operations"])
def list_jobs(_key: AdminKey, ctx: CtxDep, session: SessionDep) -> list[JobState]:
    """Every scheduled job with its last run (start, duration, outcome, error) and its next run."""
    from registry.ops.scheduler import Scheduler, load_specs

    specs = load_specs(ctx.settings)
    last = queries.last_runs(session, [s.id for s in specs])
    next_here = ctx.scheduler.next_runs() if isinstance(ctx.scheduler, Scheduler) else {}
    out = []
    for spec in specs:
        run = last.get(spec.id)
        finished = run.finished_at if run else None
        nxt = next_here.get(spec.id)
        if nxt is None and finished is not None:
            from datetime import timedelta

            nxt = finished + timedelta(seconds=spec.seconds)
        out.append(
            JobState(
                id=spec.id,
                description=spec.description,
                interval_seconds=spec.seconds,
                last_started_at=run.started_at if run else None,
                last_finished_at=finished,
                last_duration_seconds=(finished - run.started_at).total_seconds() if run and finished else None,
                last_outcome=run.outcome if run else None,
                last_error=run.error if run else None,
                last_summary=run.summary if run else None,
                running=bool(run and run.outcome == "running"),
                next_run_at=nxt,
                scheduled_here=spec.id in next_here,
            )
        )
    return out

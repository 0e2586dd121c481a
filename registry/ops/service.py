"""What the operations pages and routes show, assembled once: ``GET /v1/jobs`` and the console's jobs page are the
same list, so they cannot drift apart (a job the API calls running while the page says it is idle)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from registry.http.deps import AppContext
from registry.ops import queries
from registry.ops.lifecycle import SCHEDULER
from registry.ops.models import JobState


def jobs_overview(*, ctx: AppContext, session: Session) -> list[JobState]:
    """Every configured job with its last run (one query) and its next one. The next run is this process's
    scheduler's when it runs the jobs; otherwise the last finish plus the interval, the best guess of a process
    that only serves the API (another one runs the jobs), and unknown for a job that never ran."""
    specs = ctx.jobs(ctx.settings)
    last = queries.last_runs(session, [s.id for s in specs])
    scheduler = ctx.get(SCHEDULER)
    next_here = scheduler.next_runs() if scheduler is not None else {}
    out = []
    for spec in specs:
        run = last.get(spec.id)
        finished = run.finished_at if run else None
        nxt = next_here.get(spec.id)
        if nxt is None and finished is not None:
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

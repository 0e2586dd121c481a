from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter
from pydantic import BaseModel
from starlette.responses import Response

from registry.http.deps import AdminKey, CtxDep, SessionDep
from registry.http.responses import ORJSONResponse
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


@router.get("/readyz")
def readyz(ctx: CtxDep) -> ORJSONResponse:
    """Ready: the database answers, its schema is current, and this worker's screening snapshot is loaded."""
    from registry.db.migrate import pending

    checks: dict[str, str] = {}
    try:
        missing = pending(ctx.engine)
        checks["database"] = "ok"
        checks["migrations"] = "ok" if not missing else f"pending: {', '.join(sorted(missing))}"
    except Exception as e:
        checks["database"] = f"unreachable: {type(e).__name__}"
        checks["migrations"] = "unknown"
    checks["snapshot"] = (
        f"registry version {ctx.snapshot.current.registry_version}" if ctx.snapshot.loaded.is_set() else "not loaded"
    )
    ok = checks["database"] == "ok" and checks["migrations"] == "ok" and ctx.snapshot.loaded.is_set()
    return ORJSONResponse({"status": "ready" if ok else "not ready", "checks": checks}, status_code=200 if ok else 503)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "Prometheus text"}},
)
def metrics(ctx: CtxDep) -> Response:
    """Prometheus text format: per-process request metrics plus gauges read from the database."""
    import os

    from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess

    from registry.ops.observability import DatabaseCollector

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        process = CollectorRegistry()
        multiprocess.MultiProcessCollector(process)  # type: ignore[no-untyped-call]
    else:
        process = REGISTRY
    db = CollectorRegistry(auto_describe=False)
    db.register(DatabaseCollector(ctx.engine))
    body = generate_latest(process) + generate_latest(db)
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")

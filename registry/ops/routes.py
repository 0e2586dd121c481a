from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from fastapi import APIRouter, Request
from sqlalchemy.engine import Engine
from sqlalchemy.pool import QueuePool
from starlette.responses import Response

from registry.http.deps import AdminKey, AppContext, CtxDep, SessionDep
from registry.http.responses import ORJSONResponse
from registry.ops import service
from registry.ops.models import JobState

router = APIRouter(tags=["operations"])


@router.get("/healthz", operation_id="healthz")
async def healthz() -> dict[str, str]:
    """Alive: the process answers. Touches no database, no thread pool, no lock: it cannot hang on one.
    Readiness (database, migrations, snapshot, screening log) is /readyz."""
    return {"status": "ok"}


@router.get("/v1/jobs", operation_id="list_jobs", response_model=list[JobState], tags=["operations"])
def list_jobs(_key: AdminKey, ctx: CtxDep, session: SessionDep) -> list[JobState]:
    """Every scheduled job with its last run (start, duration, outcome, error, summary) and its next run.

    ``last_outcome``: ``ok``; ``failed`` (the job reported its work not done: an upstream unreachable, a fetch
    rejected; ``last_error`` says why and what setting to change); ``error`` (an unexpected exception); ``running``."""
    return service.jobs_overview(ctx=ctx, session=session)


READY_TIMEOUT_SECONDS = 2.0
"""/readyz answers within this, whatever the database does: not ready, with the reason, when it cannot confirm."""

_probes = ThreadPoolExecutor(max_workers=2, thread_name_prefix="readyz")


class _DatabaseProbe:
    """At most one database probe in flight per app: a probe stuck past its deadline is awaited again by the next
    /readyz instead of being joined by another one per call."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._future: Future[dict[str, str]] | None = None

    def start(self, engine: Engine) -> Future[dict[str, str]]:
        with self._lock:
            if self._future is None or self._future.done():
                self._future = _probes.submit(_probe_database, engine)
            return self._future


def _probe_database(engine: Engine) -> dict[str, str]:
    """On the control engine (its own connections, two-second statement and lock limits): neither an exhausted
    request pool nor a locked table makes the probe wait."""
    from registry.db.engine import control_engine, read_only
    from registry.db.migrate import pending

    try:
        missing = pending(read_only(control_engine(engine)))
    except Exception as e:
        return {"database": f"unreachable: {type(e).__name__}", "migrations": "unknown"}
    return {"database": "ok", "migrations": "ok" if not missing else f"pending: {', '.join(sorted(missing))}"}


def _pool_use(engine: Engine) -> str:
    pool = engine.pool
    if not isinstance(pool, QueuePool):
        return "n/a"
    return f"{pool.checkedout()} of {pool.size() + getattr(pool, '_max_overflow', 0)} connections in use"


@router.get("/readyz", operation_id="readyz")
async def readyz(request: Request) -> ORJSONResponse:
    """Ready: the database answers, its schema is current, this worker's screening snapshot is loaded and its
    screening log is being written (buffer under the high-water mark). Answers within two seconds: the probe runs
    on a thread of its own under a deadline, and no dependency of this route needs the request thread pool."""
    ctx: AppContext = request.app.state.ctx
    probe = getattr(request.app.state, "database_probe", None)
    if probe is None:
        probe = request.app.state.database_probe = _DatabaseProbe()
    checks: dict[str, str] = {}
    try:
        # shield: a deadline passed here must not cancel the probe another /readyz is waiting for.
        pending_probe = asyncio.shield(asyncio.wrap_future(probe.start(ctx.engine)))
        found = await asyncio.wait_for(pending_probe, READY_TIMEOUT_SECONDS)
        checks.update(found)
    except TimeoutError:
        checks["database"] = f"no answer within {READY_TIMEOUT_SECONDS:g} s"
        checks["migrations"] = "unknown"
    checks["pool"] = _pool_use(ctx.engine)  # for the operator; busy connections alone do not make a worker unready
    checks["snapshot"] = (
        f"registry version {ctx.snapshot.current.registry_version}" if ctx.snapshot.loaded.is_set() else "not loaded"
    )
    log_problem = ctx.screening_log.problem()
    checks["screening_log"] = log_problem or f"ok ({ctx.screening_log.depth} rows buffered)"
    ok = (
        checks["database"] == "ok"
        and checks["migrations"] == "ok"
        and ctx.snapshot.loaded.is_set()
        and log_problem is None
    )
    return ORJSONResponse({"status": "ready" if ok else "not ready", "checks": checks}, status_code=200 if ok else 503)


@router.get(
    "/metrics",
    operation_id="metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "Prometheus text"}},
)
def metrics(ctx: CtxDep) -> Response:
    """Prometheus text format: per-process request metrics plus gauges read from the database."""
    import os

    from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess

    from registry.ops.observability import DatabaseCollector, ScreeningLogCollector

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        process = CollectorRegistry()
        multiprocess.MultiProcessCollector(process)  # type: ignore[no-untyped-call]
    else:
        process = REGISTRY
    db = CollectorRegistry(auto_describe=False)
    db.register(DatabaseCollector(ctx.engine))
    db.register(ScreeningLogCollector(ctx.screening_log))
    body = generate_latest(process) + generate_latest(db)
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")

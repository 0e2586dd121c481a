"""Building the FastAPI app: context, routers, error mapping, middleware, background threads."""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from sqlalchemy.engine import Engine

from registry.auth.service import KeyCache
from registry.db.engine import get_engine
from registry.http import errors
from registry.http.deps import AppContext, RoleCheck
from registry.http.fastpath import FastPath
from registry.http.middleware import BodyLimit
from registry.http.responses import ORJSONResponse
from registry.ops.observability import RequestObserver
from registry.ops.ratelimit import RateLimiter
from registry.screening.log import ScreeningLogWriter
from registry.screening.snapshot import SnapshotHolder
from registry.settings import Settings, get_settings

log = logging.getLogger("registry.http")

ROUTERS = [
    "registry.taxonomy.routes",
    "registry.screening.routes",
    "registry.cases.routes",
    "registry.scoring.routes",
    "registry.audit.routes",
    "registry.ops.routes",
    "blocklist.routes",
]
"""Every feature's router (each module exposes ``router``): the one list to read to see what the API serves."""

STARTUP_HOOKS: list[str] = [
    "registry.scoring.snapshot:install",
    "registry.ops.lifecycle:install",
    "blocklist.feeds.fastpath:install",
]
"""``module:function(app, ctx)`` called at app construction: how features attach caches, loaders and jobs."""


def _routers() -> list[APIRouter]:
    return [importlib.import_module(name).router for name in ROUTERS]


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = engine or get_engine(settings.effective_database_url)
    keys = KeyCache(engine, settings.effective_key_pepper)
    ctx = AppContext(
        settings=settings,
        engine=engine,
        keys=keys,
        snapshot=SnapshotHolder(engine, settings.snapshot_poll_seconds, on_poll=keys.refresh),
        screening_log=ScreeningLogWriter(engine, settings.screening_log_flush_seconds),
        limiter=RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        ctx.keys.refresh(force=True)
        ctx.snapshot.refresh(force=True)
        ctx.snapshot.start()
        ctx.screening_log.start()
        for start in ctx.on_start:
            start()
        try:
            yield
        finally:
            for stop in reversed(ctx.on_stop):
                stop()
            ctx.snapshot.stop()
            ctx.screening_log.stop()

    app = FastAPI(
        title="Wallet risk registry",
        version="1",
        description=(
            "Screen crypto wallet addresses against the national registry of high-risk wallets, manage "
            "case-derived listings (four eyes), and fetch the blocklist of unlicensed exchangers."
        ),
        lifespan=lifespan,
        default_response_class=ORJSONResponse,
        # OpenTelemetry is not set up here (Prometheus metrics are); disabled, FastAPI skips its per-request checks.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.ctx = ctx
    errors.install(app)
    for router in _routers():
        app.include_router(router, responses=errors.COMMON_ERRORS)
    for hook in STARTUP_HOOKS:
        module, _, func = hook.partition(":")
        getattr(importlib.import_module(module), func)(app, ctx)
    _publish_roles(app)
    from registry.screening.routes import screen, screen_batch

    app.add_middleware(FastPath, routes={"/v1/screen": screen, "/v1/screen/batch": screen_batch})
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestObserver, access_log=settings.access_log)
    return app


def _roles_of(dependant: Dependant) -> list[str] | None:
    for dep in dependant.dependencies:
        if isinstance(dep.call, RoleCheck):
            return dep.call.names
        found = _roles_of(dep)
        if found is not None:
            return found
    return None


def _api_routes(routes: list[Any]) -> list[APIRoute]:
    out: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            out.append(route)
        elif hasattr(route, "original_router"):  # FastAPI wraps included routers
            out.extend(_api_routes(route.original_router.routes))
    return out


def _publish_roles(app: FastAPI) -> None:
    """Put each route's roles into the OpenAPI schema (``x-roles``) with the bearer security scheme."""
    for route in _api_routes(app.routes):
        extra = dict(route.openapi_extra or {})
        roles = extra.get("x-roles") or _roles_of(route.dependant)
        if roles is None:
            continue
        extra["x-roles"] = roles
        extra.setdefault("security", [{"HTTPBearer": []}])
        route.openapi_extra = extra

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            schema.setdefault("components", {})["securitySchemes"] = {
                "HTTPBearer": {"type": "http", "scheme": "bearer", "description": "API key: Bearer rk_…"}
            }
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

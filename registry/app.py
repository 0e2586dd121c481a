"""Building the HTTP app from the one feature list (``registry.features``): the context, the error mapping, every
feature's routers, installs and lifespans, the middleware, the docs pages.

This is the composition root (with ``registry.cli`` and ``registry.asgi``): it may import every feature, and no
feature imports it.
"""

from __future__ import annotations

import importlib.resources
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import ExitStack, asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from sqlalchemy.engine import Engine
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from registry.auth.service import KeyCache
from registry.db.engine import get_engine
from registry.feature import Feature, job_specs
from registry.features import FEATURES
from registry.http import errors
from registry.http.bodies import JsonBodies, is_json_media_type
from registry.http.deps import AppContext, RoleCheck
from registry.http.fastpath import FastPath, Handler
from registry.http.middleware import BodyLimit
from registry.http.responses import ORJSONResponse
from registry.ops.observability import RequestObserver
from registry.ops.ratelimit import RateLimiter
from registry.screening.log import ScreeningLogWriter
from registry.screening.snapshot import SnapshotHolder
from registry.settings import Settings, get_settings


class RegistryApp(FastAPI):
    """FastAPI with the request observer, the body limit and the screening fast path in front of Starlette's
    middleware stack rather than inside it.

    Banks call the screening routes at payment time. Inside the stack every request first crossed FastAPI's and
    Starlette's own layers (the server-error and exception-telemetry wrappers, FastAPI's body limit, two
    ``__call__`` hops): profiled under load, about a fifth of the worker's CPU on a single screening, for nothing
    these routes use. In front, a screening goes observer → body limit → handler; every other request goes
    observer → body limit → the whole FastAPI stack as before, so the observer now also sees (and tags with the
    request id) the 500 that the server-error middleware sends.
    """

    front: ASGIApp | None = None

    def put_in_front(self, fast_routes: dict[str, Handler], max_body_bytes: int, access_log: bool) -> None:
        self.front = RequestObserver(
            BodyLimit(FastPath(self._stack, fast_routes), max_bytes=max_body_bytes), access_log=access_log
        )

    async def _stack(self, scope: Scope, receive: Receive, send: Send) -> None:
        await super().__call__(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.front is None or scope["type"] != "http":  # lifespan and websockets: the stack alone
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self  # what Starlette sets: requests reach the app's state through it
        await self.front(scope, receive, send)


def create_app(
    settings: Settings | None = None, engine: Engine | None = None, *, features: Sequence[Feature] = FEATURES
) -> FastAPI:
    settings = settings or get_settings()
    engine = engine or get_engine(settings.effective_database_url)
    keys = KeyCache(engine, settings.effective_key_pepper)
    ctx = AppContext(
        settings=settings,
        engine=engine,
        keys=keys,
        snapshot=SnapshotHolder(engine, settings.snapshot_poll_seconds, on_poll=keys.refresh),
        screening_log=ScreeningLogWriter.from_settings(engine, settings),
        jobs=partial(job_specs, features),
        limiter=RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        """The features' start-ups in list order; their shut-downs in reverse, also of those started before one
        that failed to start."""
        with ExitStack() as started:
            for feature in features:
                if feature.lifespan is not None:
                    started.enter_context(feature.lifespan(ctx))
            yield

    app = RegistryApp(
        title="Wallet risk registry",
        version="1",
        description=(
            "Screen crypto wallet addresses against the national registry of high-risk wallets, manage "
            "case-derived listings (four eyes), and fetch the blocklist of unlicensed exchangers."
        ),
        lifespan=lifespan,
        default_response_class=ORJSONResponse,
        # /docs and /redoc are served from assets in the package (``_install_docs``), never from a CDN: offline.
        docs_url=None,
        redoc_url=None,
        generate_unique_id_function=operation_id,
        # OpenTelemetry is not set up here (Prometheus metrics are); disabled, FastAPI skips its per-request checks.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.ctx = ctx
    errors.install(app)
    for feature in features:
        for router in feature.routers:
            app.include_router(router, responses=errors.COMMON_ERRORS)
    # Innermost (added first): the screening fast path and the feed's 304 shortcut never pass through it.
    app.add_middleware(JsonBodies, raw_routes=_raw_body_routes(app))
    for feature in features:
        if feature.install is not None:
            feature.install(app, ctx)
    _publish_roles(app)
    _install_docs(app)
    fast_routes = {path: handler for feature in features for path, handler in feature.fast_routes.items()}
    app.put_in_front(fast_routes, settings.max_body_bytes, settings.access_log)
    return app


def operation_id(route: APIRoute) -> str:
    """The OpenAPI operation id of a route that sets none (``operation_id=`` on the decorator is the rule): its
    function's name, short and stable, never FastAPI's ``screen_v1_screen_post``; generated clients name their
    functions after it."""
    return route.name


def _raw_body_routes(app: FastAPI) -> list[tuple[str, re.Pattern[str]]]:
    """Routes whose declared request body is not JSON (the CSV import): ``JsonBodies`` leaves their bodies alone."""
    raw: list[tuple[str, re.Pattern[str]]] = []
    for route in _api_routes(app.routes):
        content = ((route.openapi_extra or {}).get("requestBody") or {}).get("content") or {}
        if content and not any(is_json_media_type(media.encode()) for media in content):
            raw.extend((method, route.path_regex) for method in route.methods or ())
    return raw


DOCS_ASSETS = "/docs/assets"
"""Where the Swagger UI and ReDoc files shipped in the ``fastapi-offline`` package are served."""


def _docs_dir() -> Path:
    return Path(str(importlib.resources.files("fastapi_offline") / "static"))


def _install_docs(app: FastAPI) -> None:
    """``/docs`` (Swagger UI) and ``/redoc`` with every script, style sheet and icon served by the app itself:
    the product runs offline, and a page that loads its code from a CDN is blank there."""
    assert app.openapi_url is not None
    openapi_url = app.openapi_url
    app.mount(DOCS_ASSETS, StaticFiles(directory=_docs_dir()), name="docs-assets")

    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png",
            # no validator badge: it would fetch validator.swagger.io
            swagger_ui_parameters={"validatorUrl": None},
        )

    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{DOCS_ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{DOCS_ASSETS}/favicon.png",
            with_google_fonts=False,
        )

    app.add_api_route("/docs", swagger_ui, methods=["GET"], include_in_schema=False)
    app.add_api_route("/redoc", redoc, methods=["GET"], include_in_schema=False)


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
    seen: dict[str, str] = {}
    for route in _api_routes(app.routes):
        op = route.operation_id or route.unique_id
        if op in seen:
            raise RuntimeError(f"operation id {op!r} of {route.path} is also that of {seen[op]}: make it unique")
        seen[op] = route.path
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

"""Serving the screening routes without FastAPI's router and dependency machinery.

Profiling a single screening showed routing, dependency solving and the exception-middleware wrappers costing
more than the screening itself. Banks call these two routes at payment time, so they are dispatched straight
from the path to the handler; they stay declared on the FastAPI app too, which documents them in the OpenAPI
schema. Errors are rendered by the same function the app uses, so the wire format is identical.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from registry.errors import RegistryError
from registry.http.errors import error_response, registry_error_response

log = logging.getLogger("registry.http")

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class _RouteLabel:
    path: str  # what the metrics middleware reads from scope["route"]


class FastPath:
    def __init__(self, app: ASGIApp, routes: dict[str, Handler]) -> None:
        self.app = app
        self.routes = routes
        self.labels = {path: _RouteLabel(path) for path in routes}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = self.routes.get(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST" else None
        if handler is None:
            await self.app(scope, receive, send)
            return
        scope["route"] = self.labels[scope["path"]]
        request = Request(scope, receive)
        try:
            response = await handler(request)
        except RegistryError as e:
            response = registry_error_response(e)
        except Exception:
            log.exception("unhandled error on POST %s", scope["path"])
            response = error_response(500, "internal", "internal error; the request id in the logs identifies it")
        await response(scope, receive, send)

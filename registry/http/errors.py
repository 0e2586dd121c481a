"""The one place where exceptions become HTTP responses.

Every error body has the same shape, ``{"error": {"code", "message", "details"}}``, so a bank's developer can
branch on ``code`` and show ``message``.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from registry.errors import RateLimited, RegistryError
from registry.http.responses import ORJSONResponse

log = logging.getLogger("registry.http")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def error_response(status: int, code: str, message: str, details: Any = None) -> ORJSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return ORJSONResponse(error_body(code, message, details), status_code=status, headers=headers)


def registry_error_response(exc: RegistryError) -> ORJSONResponse:
    resp = error_response(exc.status, exc.code, exc.message, exc.details)
    if isinstance(exc, RateLimited):
        resp.headers["Retry-After"] = str(exc.retry_after)
    return resp


def install(app: FastAPI) -> None:
    async def on_registry_error(_req: Request, exc: Exception) -> Response:
        assert isinstance(exc, RegistryError)
        return registry_error_response(exc)

    async def on_validation(_req: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        details = [
            {"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"), "problem": e.get("msg", "")}
            for e in exc.errors()
        ]
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            return error_response(400, "malformed_json", "the request body is not valid JSON", details)
        return error_response(422, "invalid_input", "the request does not match the expected shape", details)

    async def on_http(_req: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail))

    async def on_database_down(req: Request, exc: Exception) -> Response:
        log.warning("database unavailable on %s %s: %s", req.method, req.url.path, type(exc).__name__)
        resp = error_response(
            503, "database_unavailable", "the database is unavailable for a moment; nothing was changed, retry"
        )
        resp.headers["Retry-After"] = "2"
        return resp

    async def on_unexpected(req: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", req.method, req.url.path)
        return error_response(500, "internal", "internal error; the request id in the logs identifies it")

    app.add_exception_handler(RegistryError, on_registry_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    # Connection-level failures (server restarting, network blip, SQLite busy past its timeout) are transient:
    # 503 with Retry-After tells the client what to do; the pool's pre-ping replaces dead connections.
    app.add_exception_handler(OperationalError, on_database_down)
    app.add_exception_handler(InterfaceError, on_database_down)
    app.add_exception_handler(Exception, on_unexpected)


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorBody(BaseModel):
    """The shape of every error response."""

    error: ErrorDetail


COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "malformed request body (broken JSON)"},
    401: {"model": ErrorBody, "description": "missing, unknown or revoked API key"},
    403: {"model": ErrorBody, "description": "the key's role may not use this route"},
    404: {"model": ErrorBody, "description": "no such object"},
    409: {"model": ErrorBody, "description": "conflicts with the current state (duplicate, wrong status)"},
    413: {"model": ErrorBody, "description": "body or batch too large"},
    422: {"model": ErrorBody, "description": "well-formed but invalid input; details name the field and reason"},
    429: {"model": ErrorBody, "description": "rate limit exceeded; see Retry-After"},
    503: {"model": ErrorBody, "description": "database briefly unavailable; nothing changed; see Retry-After"},
}
"""Documented on every route, so that clients (and the schema fuzzer) know every status they can get."""

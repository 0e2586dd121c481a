"""The one place where exceptions become HTTP responses.

Every error body has the same shape, ``{"error": {"code", "message", "details"}}``, so a bank's developer can
branch on ``code``, show ``message`` and read ``details`` without testing its type: ``details`` is always an
object (``{}`` when there is nothing to add; a list becomes ``{"errors": [...]}``), with the well-known keys of
``ErrorDetails``. A per-item error of a batch is the same ``error`` object beside the item's ``index``.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from registry.errors import RateLimited, RegistryError, Unavailable
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


def error_details(details: Any) -> dict[str, Any]:
    """``details`` in the one shape clients read: an object, never null, never a bare list."""
    if details is None:
        return {}
    if isinstance(details, dict):
        return details
    if isinstance(details, list | tuple):
        return {"errors": [e if isinstance(e, dict) else {"reason": str(e)} for e in details]}
    return {"reason": str(details)}


def error_object(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"code": code, "message": message, "details": error_details(details)}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": error_object(code, message, details)}


def item_error(index: int, address: Any, chain: Any, code: str, message: str, details: dict[str, Any]) -> bytes:
    """One failed item of a batch: the item's ``index`` (and what it sent) beside an ``error`` object of the same
    shape as a top-level error. ``error.reason`` repeats ``details.reason`` for clients written before ``details``
    existed there (fields are added, never renamed)."""
    return orjson.dumps(
        {
            "index": index,
            "address": address,
            "chain": chain,
            "error": {"code": code, "message": message, "details": details, "reason": details.get("reason")},
        }
    )


def error_response(status: int, code: str, message: str, details: Any = None) -> ORJSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return ORJSONResponse(error_body(code, message, details), status_code=status, headers=headers)


def registry_error_response(exc: RegistryError) -> ORJSONResponse:
    resp = error_response(exc.status, exc.code, exc.message, exc.details)
    if isinstance(exc, RateLimited | Unavailable):
        resp.headers["Retry-After"] = str(exc.retry_after)
    return resp


DATABASE_RETRY_AFTER = 2

_DB_REASONS = {
    "pool_exhausted": "every database connection of this worker is busy",
    "lock_timeout": "a table or row this request needs is locked by another transaction",
    "statement_timeout": "a database statement took too long and was cancelled",
    "conflict": "the database aborted this transaction in favour of a concurrent one",
    "locked": "the database is locked by another writer",
    "unreachable": "the database is unavailable for a moment",
}


def database_reason(exc: BaseException) -> str:
    """Which transient database failure ``exc`` is (a key of ``_DB_REASONS``); sqlstates, so no driver import."""
    if isinstance(exc, PoolTimeout):
        return "pool_exhausted"
    orig = getattr(exc, "orig", None)
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate == "55P03":
        return "lock_timeout"
    if sqlstate == "57014":
        return "statement_timeout"
    if sqlstate in ("40001", "40P01"):
        return "conflict"
    if "locked" in str(orig) or "busy" in str(orig):  # SQLite: "database is locked" past the busy timeout
        return "locked"
    return "unreachable"


def database_error_response(exc: BaseException) -> ORJSONResponse:
    """503 with Retry-After for a database that is down, locked, slow or out of connections: each is transient,
    the transaction was rolled back, and a client that retries a little later is served."""
    reason = database_reason(exc)
    resp = error_response(
        503,
        "database_unavailable",
        f"{_DB_REASONS[reason]}; nothing was changed, retry",
        {"reason": reason},
    )
    resp.headers["Retry-After"] = str(DATABASE_RETRY_AFTER)
    return resp


def install(app: FastAPI) -> None:
    async def on_registry_error(_req: Request, exc: Exception) -> Response:
        assert isinstance(exc, RegistryError)
        return registry_error_response(exc)

    async def on_validation(_req: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problems = exc.errors()
        for e in problems:
            if e.get("type") == "json_invalid":
                loc = e.get("loc", ())
                position = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else None
                error = (e.get("ctx") or {}).get("error", "")
                details = {"reason": "json_invalid", "position": position}
                return error_response(400, "malformed_json", f"the request body is not valid JSON: {error}", details)
        errors = [validation_item(e) for e in problems]
        first = errors[0] if errors else {}
        message = "the request does not match the expected shape"
        if first:
            message += f": {first['in']} field {first['field'] or '(the whole body)'!r}: {first['message']}"
        return error_response(422, "invalid_input", message, {"errors": errors})

    async def on_http(_req: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        resp = error_response(exc.status_code, code, str(exc.detail))
        resp.headers.update(exc.headers or {})  # e.g. the Allow of a 405
        return resp

    async def on_database_down(req: Request, exc: Exception) -> Response:
        log.warning(
            "database unavailable on %s %s: %s (%s)", req.method, req.url.path, type(exc).__name__, database_reason(exc)
        )
        return database_error_response(exc)

    async def on_unexpected(req: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", req.method, req.url.path)
        return error_response(500, "internal", "internal error; the request id in the logs identifies it")

    app.add_exception_handler(RegistryError, on_registry_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    # Connection-level failures (server restarting, network blip, SQLite busy past its timeout) and the bounded waits
    # of registry.db.engine (statement_timeout, lock_timeout: psycopg's QueryCanceled and LockNotAvailable arrive as
    # OperationalError; the pool's TimeoutError) are transient: 503 with Retry-After tells the client what to do, and
    # the pool's pre-ping replaces dead connections.
    app.add_exception_handler(OperationalError, on_database_down)
    app.add_exception_handler(InterfaceError, on_database_down)
    app.add_exception_handler(PoolTimeout, on_database_down)
    app.add_exception_handler(Exception, on_unexpected)


def validation_item(e: Any) -> dict[str, Any]:
    """One of pydantic's errors as an item of ``details.errors``: where, which field, why (pydantic's type, a
    stable word) and pydantic's message."""
    loc = tuple(e.get("loc", ()))
    where = str(loc[0]) if loc and loc[0] in ("body", "query", "path", "header", "cookie") else "body"
    rest = loc[1:] if loc and loc[0] == where else loc
    field = ""
    for part in rest:
        field += f"[{part}]" if isinstance(part, int) else (f".{part}" if field else str(part))
    return {"in": where, "field": field, "reason": str(e.get("type", "invalid")), "message": str(e.get("msg", ""))}


class ErrorDetails(BaseModel):
    """Always an object; an error carries the keys that apply to it (and may carry others)."""

    model_config = ConfigDict(extra="allow")
    field: str | None = Field(None, description="the field at fault (dotted path, e.g. evidence.note)")
    in_: str | None = Field(None, alias="in", description="where the field is: body, query or path")
    reason: str | None = Field(
        None,
        description="a stable word saying why (invalid_address: checksum, length, prefix, characters, format, "
        "chain, network; database_unavailable: lock_timeout, statement_timeout, pool_exhausted, locked, conflict, "
        "unreachable; malformed_json: json_invalid; …)",
    )
    errors: list[dict[str, Any]] | None = Field(
        None,
        description="several problems: request validation ({in, field, reason, message}) or CSV rows "
        "({line, column, value, reason})",
    )
    total: int | None = Field(None, description="how many problems there were in all (errors lists the first ones)")
    truncated: bool | None = Field(None, description="true when errors does not list every problem")
    duplicates: list[str] | None = Field(None, description="what already exists (409)")
    id: int | None = Field(None, description="the existing object a 409 conflicts with")
    request_id: int | None = Field(None, description="the pending decision request a 409 conflicts with")
    max_bytes: int | None = Field(None, description="the body size limit (413)")
    max_rows: int | None = Field(None, description="the CSV row limit (413)")
    max_batch: int | None = Field(None, description="the batch size limit (413)")


class ErrorDetail(BaseModel):
    code: str = Field(description="stable machine code: branch on it")
    message: str = Field(description="for the developer or the person in front of the screen")
    details: ErrorDetails = Field(description="always an object, {} when there is nothing to add")


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
    503: {
        "model": ErrorBody,
        "description": "database briefly unavailable, locked or slow, or the screening log full; nothing changed; "
        "see Retry-After",
    },
}
"""Documented on every route, so that clients (and the schema fuzzer) know every status they can get."""

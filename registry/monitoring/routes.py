"""HTTP routes of monitoring: parse, authorise, call one service function.

A bank's routes act on the bank of the key (its organisation): its watchlist, its webhook, its alerts; there is
no parameter naming another bank. The agency reads counts only (``/v1/monitoring/summary``).

The watchlist routes that take up to 100,000 addresses read their body as a stream under
``REGISTRY_MAX_CSV_BYTES`` (as the listing CSV import does; ``registry.http.middleware.STREAMED_BODIES``): such a
JSON body is several times the general body limit. They parse it with orjson, not pydantic (the models document
the contract in the schema).
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

import anyio
import orjson
from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.responses import StreamingResponse

from registry.auth.service import Principal
from registry.auth.tables import Role
from registry.db.engine import session_scope
from registry.errors import InvalidInput, MalformedBody, UnsupportedMediaType
from registry.http.deps import AppContext, BankKey, CtxDep, SessionDep, Slot, require
from registry.http.errors import ErrorBody
from registry.http.middleware import unstorable_in_json
from registry.http.params import AfterId, PageLimit, RowId
from registry.http.schemas import inline_schema
from registry.monitoring import service, watchlist
from registry.monitoring.delivery import fingerprint
from registry.monitoring.models import (
    AddressChangePublic,
    AlertListing,
    AlertPage,
    AlertPublic,
    ChangesPage,
    MonitoringSummary,
    ReplayRequest,
    ReplayResult,
    WatchedPublic,
    WatchlistAdd,
    WatchlistCounts,
    WatchlistPage,
    WatchlistRemove,
    WebhookCreate,
    WebhookPublic,
    WebhookRemoved,
    WebhookSecret,
)
from registry.monitoring.settings import MonitoringSettings
from registry.monitoring.tables import AlertStatus, WebhookEndpoint
from registry.types import MAX_ID

MONITORING: Slot[MonitoringSettings] = Slot("monitoring")
"""The monitoring settings, put in the context when the app is built (``registry.monitoring.feature``)."""

router = APIRouter(prefix="/v1", tags=["monitoring"])
_bank = require(Role.bank)
_agency = require(Role.supervisor, Role.admin)
AgencyKey = Annotated[Principal, Depends(_agency)]

CSV_MEDIA_TYPES = ("text/csv", "text/plain", "application/octet-stream")


async def _read(request: Request) -> bytes:
    """The whole body, counted against ``REGISTRY_MAX_CSV_BYTES`` by the body middleware as it arrives."""
    chunks = [chunk async for chunk in request.stream()]
    return b"".join(chunks)


def _json(raw: bytes) -> Any:
    """A streamed body gets the checks the body middleware gives the others, and like them before the key is
    looked at: storable text (422), then JSON (400). The body is read up to ``REGISTRY_MAX_CSV_BYTES`` first."""
    bad = unstorable_in_json(raw)
    if bad is not None:
        field, reason = bad
        raise InvalidInput(
            f"body field {field!r} contains text no database can store ({reason})",
            details={"in": "body", "field": field or None, "reason": reason},
        )
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise MalformedBody(
            f"the request body is not valid JSON: {e}", details={"reason": "json_invalid", "position": e.pos}
        ) from None


def _settings(request: Request) -> MonitoringSettings:
    ctx: AppContext = request.app.state.ctx
    return ctx[MONITORING]


def _body_doc(model: type[Any], description: str) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {"application/json": {"schema": inline_schema(model)}},
        },
        "x-roles": ["bank"],
    }


# --- watchlist ---------------------------------------------------------------------------------------------------


@router.post(
    "/watchlist",
    operation_id="watch_addresses",
    response_model=WatchlistCounts,
    openapi_extra=_body_doc(WatchlistAdd, "addresses to watch, each with your customer ref; all or nothing"),
)
async def watch_addresses(request: Request, ctx: CtxDep) -> WatchlistCounts:
    """Watch up to 100,000 addresses (an address already watched takes the new ref). Alerts for them start with
    the next registry version."""
    ms = _settings(request)
    body = _json(await _read(request))
    who = _bank(request)
    parsed = await run_in_threadpool(watchlist.parse_json, body, ms.monitoring_max_items)
    return await run_in_threadpool(_apply, ctx, who, parsed, ms, True)


@router.post(
    "/watchlist/import",
    operation_id="import_watchlist",
    response_model=WatchlistCounts,
    responses={415: {"model": ErrorBody, "description": "the body is not sent as text/csv"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "CSV with a header naming address and ref (and optionally chain)",
            "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def import_watchlist(request: Request, who: BankKey, ctx: CtxDep) -> WatchlistCounts:
    """The same as ``POST /v1/watchlist``, from a CSV file (``Content-Type: text/csv``)."""
    ms = _settings(request)
    ctype = request.headers.get("content-type", "")
    if not ctype.lower().startswith(CSV_MEDIA_TYPES):
        raise UnsupportedMediaType(
            f"this route reads CSV, not {ctype or 'a body without Content-Type'}: send the file as the request body "
            "with the header Content-Type: text/csv",
            details={"content_type": ctype or None, "accepted": list(CSV_MEDIA_TYPES), "header": "Content-Type"},
        )
    parsed = await run_in_threadpool(watchlist.parse_csv, await _read(request), ms.monitoring_max_items)
    if parsed.total_errors and "line" in parsed.errors[0]:
        raise InvalidInput(
            f"{parsed.total_errors} bad row(s), nothing was changed; first: line {parsed.errors[0]['line']}: "
            f"{parsed.errors[0]['reason']}",
            details={
                "errors": parsed.errors,
                "total": parsed.total_errors,
                "truncated": parsed.total_errors > len(parsed.errors),
            },
            code="invalid_csv",
        )
    return await run_in_threadpool(_apply, ctx, who, parsed, ms, True)


@router.post(
    "/watchlist/remove",
    operation_id="unwatch_addresses",
    response_model=WatchlistCounts,
    openapi_extra=_body_doc(WatchlistRemove, "addresses to stop watching; all or nothing"),
)
async def unwatch_addresses(request: Request, ctx: CtxDep) -> WatchlistCounts:
    ms = _settings(request)
    body = _json(await _read(request))
    who = _bank(request)
    parsed = await run_in_threadpool(watchlist.parse_json, body, ms.monitoring_max_items, False)
    return await run_in_threadpool(_apply, ctx, who, parsed, ms, False)


def _apply(ctx: AppContext, who: Principal, parsed: watchlist.Parsed, ms: MonitoringSettings, add: bool) -> Any:
    with session_scope(ctx.engine) as session:
        if add:
            counts = service.add_watched(session, who, parsed, ms.monitoring_max_items)
        else:
            counts = service.remove_watched(session, who, parsed, ms.monitoring_max_items)
    return WatchlistCounts(**counts)


@router.get("/watchlist", operation_id="list_watched", response_model=WatchlistPage)
def list_watched(who: BankKey, session: SessionDep, after_id: AfterId = 0, limit: PageLimit = 100) -> WatchlistPage:
    """Your watchlist, in the order it was added (keyset pages)."""
    rows = service.list_watched(session, who, after_id, limit)
    items = [WatchedPublic.model_validate(r) for r in rows]
    return WatchlistPage(items=items, next_after_id=items[-1].id if len(items) == limit else None)


@router.delete("/watchlist/{watch_id}", operation_id="unwatch_address", status_code=204)
def unwatch_address(who: BankKey, session: SessionDep, watch_id: RowId) -> None:
    service.remove_watched_id(session, who, watch_id)


@router.get(
    "/watchlist/export",
    operation_id="export_watchlist",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "address,chain,ref"}},
)
def export_watchlist(who: BankKey, ctx: CtxDep) -> StreamingResponse:
    """Your whole watchlist as CSV (``address,chain,ref,added_at``), streamed page by page."""

    def lines() -> Iterator[bytes]:
        yield b"address,chain,ref,added_at\r\n"
        for page in service.export_watched(ctx.engine, who.org):
            buf = io.StringIO()
            w = csv.writer(buf)
            w.writerows((r.address, r.chain, r.ref, r.added_at.isoformat()) for r in page)
            yield buf.getvalue().encode()

    async def body() -> AsyncIterator[bytes]:
        async for chunk in iterate_in_threadpool(lines()):
            yield chunk

    return StreamingResponse(
        body(),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="watchlist.csv"'},
    )


# --- webhook -----------------------------------------------------------------------------------------------------


def _webhook(session: SessionDep, ep: WebhookEndpoint, who: Principal, secret: str | None = None) -> WebhookSecret:
    return WebhookSecret(
        url=ep.url,
        created_at=ep.created_at,
        updated_at=ep.updated_at,
        secret_fingerprint=fingerprint(ep.secret),
        previous_secret_until=ep.previous_until if ep.previous_secret else None,
        failures=ep.failures,
        paused_until=ep.paused_until,
        last_success_at=ep.last_success_at,
        last_error=ep.last_error,
        alerts=service.endpoint_counts(session, who),
        secret=secret,
    )


@router.post("/webhooks", operation_id="set_webhook", response_model=WebhookSecret, status_code=201)
def set_webhook(body: WebhookCreate, who: BankKey, session: SessionDep, request: Request) -> WebhookSecret:
    """Register your bank's webhook, or move it to another URL (the secret stays). The secret is in the answer
    only when the webhook is created; keep it: it verifies every delivery. Audited."""
    ep, secret = service.set_endpoint(session, who, body.url, _settings(request))
    return _webhook(session, ep, who, secret)


@router.get("/webhooks", operation_id="get_webhook", response_model=WebhookPublic)
def get_webhook(who: BankKey, session: SessionDep) -> WebhookPublic:
    ep = service.get_endpoint(session, who)
    return WebhookPublic(**_webhook(session, ep, who).model_dump(exclude={"secret"}))


@router.post("/webhooks/rotate", operation_id="rotate_webhook_secret", response_model=WebhookSecret)
def rotate_webhook_secret(who: BankKey, session: SessionDep, request: Request) -> WebhookSecret:
    """A new secret, shown once; the old one keeps signing beside it (two signatures) for
    ``REGISTRY_MONITORING_SECRET_OVERLAP_SECONDS``. Audited."""
    ep, secret = service.rotate_secret(session, who, _settings(request))
    return _webhook(session, ep, who, secret)


@router.delete("/webhooks", operation_id="delete_webhook", response_model=WebhookRemoved)
def delete_webhook(who: BankKey, session: SessionDep) -> WebhookRemoved:
    """Stop pushing; alerts waiting to be pushed are left for ``GET /v1/alerts``. Audited."""
    return WebhookRemoved(alerts_left_for_pull=service.delete_endpoint(session, who))


# --- alerts ------------------------------------------------------------------------------------------------------


@router.get("/alerts", operation_id="list_alerts", response_model=AlertPage)
async def list_alerts(
    request: Request,
    who: BankKey,
    ctx: CtxDep,
    after: AfterId = 0,
    limit: PageLimit = 100,
    wait: float = Query(
        0, ge=0, le=300, description="seconds to hold the request open until an alert comes (long poll)"
    ),
    status: AlertStatus | None = Query(None, description="only alerts in this status (dead: the dead letters)"),
) -> AlertPage:
    """Your alerts after the cursor, in order: the pull API, for banks that cannot take inbound connections (and
    to catch up after a webhook outage). With ``wait`` the request returns as soon as there is one, or empty
    when the wait is over (at most ``REGISTRY_MONITORING_PULL_MAX_WAIT_SECONDS``)."""
    ms = _settings(request)
    until = time.monotonic() + min(wait, ms.monitoring_pull_max_wait_seconds)
    status_value = status.value if status is not None else None

    def read() -> list[dict[str, Any]]:
        with session_scope(ctx.engine) as session:
            return [service.public_alert(a) for a in service.pull_alerts(session, who, after, limit, status_value)]

    while True:
        alerts = await run_in_threadpool(read)
        left = until - time.monotonic()
        if alerts or left <= 0:
            break
        await anyio.sleep(min(left, max(0.2, ms.monitoring_poll_seconds / 2)))
    return AlertPage(
        alerts=[AlertPublic.model_validate(a) for a in alerts], next_after=int(alerts[-1]["id"]) if alerts else after
    )


@router.post("/alerts/replay", operation_id="replay_alerts", response_model=ReplayResult)
def replay_alerts(
    who: BankKey, session: SessionDep, request: Request, body: ReplayRequest | None = None
) -> ReplayResult:
    """Send dead letters again (all of yours, or the ``ids`` given), with their original ``webhook-id``. Audited."""
    ids = body.ids if body is not None else None
    return ReplayResult(replayed=service.replay(session, who.org, who.actor, ids, _settings(request)))


# --- changes feed ------------------------------------------------------------------------------------------------


@router.get("/changes", operation_id="list_changes", response_model=ChangesPage)
def list_changes(
    who: BankKey,
    session: SessionDep,
    since: int = Query(ge=0, le=MAX_ID, description="the registry version your copy is at"),
    after: AfterId = 0,
    limit: Annotated[int, Query(ge=1, le=10_000, description="most changes returned")] = 1000,
) -> ChangesPage:
    """Addresses whose screening result changed after version ``since``, for banks that keep their own copy.
    410 when ``since`` is older than the kept history (``REGISTRY_MONITORING_CHANGES_RETENTION_DAYS``)."""
    page = service.changes_since(session, since, after, limit)
    return ChangesPage(
        since=page.since,
        version=page.version,
        changes=[
            AddressChangePublic(
                address=c.address,
                chain=c.family,
                registry_version=str(c.version),
                risk_score=c.risk_score,
                risk_level=c.risk_level,
                action=c.action,
                direct=[AlertListing(**d) for d in orjson.loads(c.direct)],
            )
            for c in page.changes
        ],
        next_after=page.next_after,
    )


# --- the agency --------------------------------------------------------------------------------------------------


@router.get("/monitoring/summary", operation_id="monitoring_summary", response_model=MonitoringSummary)
def monitoring_summary(who: AgencyKey, session: SessionDep) -> MonitoringSummary:
    """Per bank: addresses watched and alerts by status. Never which addresses (that is the bank's data)."""
    return MonitoringSummary.model_validate(service.summary(session))

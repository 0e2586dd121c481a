"""Screening routes, written against the raw request: this is the hot path banks call at payment time.

Auth is an in-memory HMAC lookup, the body is parsed by orjson, the lookup is a dict access in the snapshot and the
log row goes to an in-memory buffer: no database round trip and no pydantic per request. The pydantic models in
``models.py`` document the contract in the OpenAPI schema.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from chains.addresses import AddressError
from registry.auth.tables import Role
from registry.errors import InvalidAddress, InvalidInput, MalformedBody, PayloadTooLarge
from registry.http.deps import AppContext, require
from registry.http.schemas import inline_schema
from registry.ops.observability import SCREENINGS_BY_LEVEL
from registry.screening import service
from registry.screening.models import (
    BatchRequest,
    BatchResponse,
    ScreeningResult,
    ScreenRequest,
)
from registry.screening.policy import EXPOSURE_POLICY, ExposurePolicy
from registry.screening.snapshot import Snapshot

router = APIRouter(prefix="/v1", tags=["screening"])
_bank = require(Role.bank)


def _spend_addresses(ctx: AppContext, key_id: int, count: int) -> None:
    """Every screened address takes a token from the key's address budget (apart from its request budget)."""
    if ctx.limiter is not None:
        s = ctx.settings
        budget = ctx.limiter.budget("addresses", s.rate_limit_addresses_per_second, s.rate_limit_addresses_burst)
        budget.take(key_id, count)


_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off", "")


def _explainer(request: Request, ctx: AppContext, snap: Snapshot) -> service.Fragment | None:
    """``?explain=true``: the explanation is rendered into each result. Read only when a query string is there,
    so the usual request pays one comparison for it."""
    if not request.scope["query_string"]:
        return None
    value = request.query_params.get("explain")
    if value is None or value.lower() in _FALSE:
        return None
    if value.lower() not in _TRUE:
        raise InvalidInput(
            f"explain={value!r}: send explain=true or explain=false",
            details={"in": "query", "field": "explain", "reason": "bool_parsing"},
        )
    return service.explained(snap, ctx.get(EXPOSURE_POLICY) or ExposurePolicy())


_explain_param = {
    "name": "explain",
    "in": "query",
    "required": False,
    "schema": {"type": "boolean", "default": False},
    "description": "add an explanation: the policy rule, categories, shares and hops, and a sentence",
}


def _json_body(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise MalformedBody(
            f"the request body is not valid JSON: {e}", details={"reason": "json_invalid", "position": e.pos}
        ) from None


@router.post(
    "/screen",
    operation_id="screen",
    response_model=None,
    responses={200: {"model": ScreeningResult}},
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": inline_schema(ScreenRequest)}}},
        "security": [{"HTTPBearer": []}],
        "x-roles": ["bank"],
        "parameters": [_explain_param],
    },
    summary="Screen one address",
)
async def screen(request: Request) -> Response:
    who = _bank(request)
    ctx: AppContext = request.app.state.ctx
    _spend_addresses(ctx, who.key_id, 1)
    body = _json_body(await request.body())
    if not isinstance(body, dict):
        raise InvalidInput('send a JSON object: {"address": "…", "chain": "…"}', details={"reason": "dict_type"})
    address, chain = body.get("address"), body.get("chain")
    extra = set(body) - {"address", "chain"}
    if extra:
        fields = sorted(map(str, extra))
        raise InvalidInput(
            f"unknown field(s) {', '.join(fields)}; send address and chain",
            details={"field": fields[0], "reason": "extra_forbidden", "fields": fields},
        )
    if not isinstance(address, str):
        reason = "missing" if address is None else "string_type"
        raise InvalidInput("address is required and must be a string", details={"field": "address", "reason": reason})
    if chain is not None and not isinstance(chain, str):
        raise InvalidInput(
            "chain must be a string such as btc, tron or eth", details={"field": "chain", "reason": "string_type"}
        )
    try:
        checked = service.validate(address, chain)
    except AddressError as e:
        raise InvalidAddress(e.message, details={"field": "address", "reason": e.reason}) from None
    snap = ctx.snapshot.current
    now = time.time()
    body, (c, a, score, level, action) = service.screen_one(
        snap, checked, now, service.tail(snap, ctx.settings.policy_version, now), _explainer(request, ctx, snap)
    )
    at = datetime.fromtimestamp(now, UTC)
    ctx.screening_log.add((at, who.key_id, snap.version_str, c, a, score, level, action))
    SCREENINGS_BY_LEVEL[level].inc()
    return Response(body, media_type="application/json")


@router.post(
    "/screen/batch",
    operation_id="screen_batch",
    response_model=None,
    responses={200: {"model": BatchResponse}},
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": inline_schema(BatchRequest)}}},
        "security": [{"HTTPBearer": []}],
        "x-roles": ["bank"],
        "parameters": [_explain_param],
    },
    summary="Screen up to 10,000 addresses; results in input order, per-item errors",
)
async def screen_batch(request: Request) -> Response:
    who = _bank(request)
    ctx: AppContext = request.app.state.ctx
    body = _json_body(await request.body())
    if not isinstance(body, dict) or not isinstance(body.get("addresses"), list):
        raise InvalidInput(
            'send a JSON object: {"addresses": ["…", {"address": "…", "chain": "…"}]}',
            details={"field": "addresses", "reason": "list_type"},
        )
    extra = set(body) - {"addresses"}
    if extra:
        fields = sorted(map(str, extra))
        raise InvalidInput(
            f"unknown field(s) {', '.join(fields)}; send addresses",
            details={"field": fields[0], "reason": "extra_forbidden", "fields": fields},
        )
    items: list[Any] = body["addresses"]
    limit = ctx.settings.max_batch
    if len(items) > limit:
        raise PayloadTooLarge(
            f"{len(items)} addresses in one batch; the limit is {limit}: split it",
            details={"max_batch": limit, "received": len(items)},
        )
    _spend_addresses(ctx, who.key_id, len(items))
    snap = ctx.snapshot.current
    results, count, logged = service.screen_batch(
        snap, items, ctx.settings.policy_version, _explainer(request, ctx, snap)
    )
    at, key_id, version = datetime.now(UTC), who.key_id, snap.version_str
    ctx.screening_log.add_batch(at, key_id, version, logged)
    for level, n in Counter(row[3] for row in logged).items():
        SCREENINGS_BY_LEVEL[level].inc(n)
    head = b'{"count":' + str(count).encode() + b',"registry_version":' + orjson.dumps(version) + b',"results":'
    return Response(head + results + b"}", media_type="application/json")

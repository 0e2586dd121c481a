"""HTTP routes of the blocklist: thin, each authorises its role and calls one service function.

The feed routes serve bytes rendered ahead of time (``FeedCache``): no query and no rendering per request. A poll
with a matching ``If-None-Match`` is normally answered before routing (``blocklist.feeds.fastpath``); the routes
answer the rest. They are ``async`` with an ``async`` key check, so they never queue for the thread pool.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.responses import Response

from blocklist.domains import service as domains
from blocklist.feeds import service as feeds
from blocklist.feeds.cache import FeedCache, Published
from blocklist.feeds.render import FILE_NAMES, FORMATS, MEDIA_TYPES
from blocklist.models import (
    ChangesPublic,
    CheckResult,
    DomainApproval,
    DomainCheck,
    DomainCreate,
    DomainPublic,
    DomainReason,
    LicensedDomainCreate,
    LicensedList,
    LicensedMapping,
)
from blocklist.register import listing, mapping
from registry.auth.tables import Role
from registry.decisions import service as decisions
from registry.decisions.models import DecisionRequestPublic, RequestNote
from registry.errors import InvalidInput
from registry.http.deps import (
    AnyKey,
    CaseReaderKey,
    InvestigatorKey,
    SessionDep,
    Slot,
    SupervisorKey,
    get_ctx,
    require,
)
from registry.http.params import MAX_ID, AfterId, PageLimit, RowId

_isp_check = require(Role.isp)


async def _isp(request: Request) -> None:
    """The ``isp`` role check as an async dependency: the key cache is in memory, so it may run on the event
    loop, and the feed routes never wait for a thread-pool slot."""
    _isp_check(request)


ISP_ONLY = [Depends(_isp)]
ISP_DOC = {"x-roles": ["isp"]}  # published access (the app reads it from RoleCheck, which this async check is not)


FEEDS: Slot[FeedCache] = Slot("blocklist.feeds")
"""This worker's rendered feeds in the app's context: set when the app starts (``blocklist.feature.lifespan``)."""

router = APIRouter(tags=["blocklist"])


def _published(request: Request) -> Published:
    return get_ctx(request)[FEEDS].current


def _not_modified(request: Request, etag: str) -> bool:
    inm = request.headers.get("if-none-match")
    if not inm:
        return False
    return inm.strip() == "*" or etag in (t.strip().removeprefix("W/") for t in inm.split(","))


@router.get(
    "/v1/blocklist",
    operation_id="get_blocklist",
    summary="The blocklist feed in one of several formats (ETag, 304)",
    dependencies=ISP_ONLY,
    openapi_extra=ISP_DOC,
    response_class=Response,
    responses={
        200: {
            "description": "the feed; the media type depends on the format",
            "content": {mt.split(";")[0]: {"schema": {"type": "string"}} for mt in sorted(set(MEDIA_TYPES.values()))},
        },
        304: {"description": "If-None-Match matched the current ETag: the feed has not changed"},
    },
)
async def feed(
    request: Request,
    format: Annotated[str, Query(description=f"one of {', '.join(FORMATS)}")] = "txt",
) -> Response:
    if format not in MEDIA_TYPES:
        raise InvalidInput(f"unknown format {format!r}; formats: {', '.join(FORMATS)}")
    pub = _published(request)
    etag = pub.etags[format]
    headers = {"ETag": etag, "X-Blocklist-Serial": str(pub.serial), "Cache-Control": "no-cache"}
    if _not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    headers["Content-Disposition"] = f'inline; filename="{FILE_NAMES[format]}"'
    return Response(pub.bodies[format], media_type=MEDIA_TYPES[format], headers=headers)


@router.get(
    "/v1/blocklist/manifest",
    operation_id="get_blocklist_manifest",
    summary="Serial, sha256 of every format, Ed25519 signature",
    dependencies=ISP_ONLY,
    openapi_extra=ISP_DOC,
    response_class=Response,
    responses={
        200: {"description": "the signed manifest", "content": {"application/json": {"schema": {"type": "object"}}}},
        304: {"description": "If-None-Match matched: the manifest has not changed"},
    },
)
async def manifest(request: Request) -> Response:
    pub = _published(request)
    headers = {"ETag": pub.manifest_etag, "X-Blocklist-Serial": str(pub.serial), "Cache-Control": "no-cache"}
    if _not_modified(request, pub.manifest_etag):
        return Response(status_code=304, headers=headers)
    return Response(pub.manifest_body, media_type="application/json", headers=headers)


@router.get(
    "/v1/blocklist/public-key",
    operation_id="get_blocklist_public_key",
    summary="The Ed25519 public key that signs the manifest",
    dependencies=ISP_ONLY,
    openapi_extra=ISP_DOC,
)
async def public_key(request: Request) -> dict[str, str]:
    s = get_ctx(request)[FEEDS].signer
    return {
        "algorithm": "Ed25519",
        "key_id": s.key_id,
        "public_key_hex": s.public_raw.hex(),
        "pem": s.public_pem,
    }


@router.get(
    "/v1/blocklist/changes",
    operation_id="get_blocklist_changes",
    summary="Additions and removals since a serial",
    dependencies=ISP_ONLY,
    openapi_extra=ISP_DOC,
)
def changes(
    session: SessionDep,
    since: Annotated[int, Query(ge=0, le=MAX_ID, description="the serial the client has")],
) -> ChangesPublic:
    return feeds.changes_since(session, since)


@router.post(
    "/v1/cases/{case_id}/domains",
    operation_id="submit_domain",
    status_code=201,
    summary="Submit an exchanger domain (pending)",
)
def submit_domain(case_id: RowId, body: DomainCreate, session: SessionDep, p: InvestigatorKey) -> DomainPublic:
    return domains.submit(session, case_id, body, p)


@router.get(
    "/v1/domains", operation_id="list_domains", summary="Submitted domains, e.g. the review queue (status=pending)"
)
def list_domains(
    session: SessionDep,
    p: CaseReaderKey,
    status: Annotated[str | None, Query(description="pending | active | rejected | delisted")] = None,
    after_id: AfterId = 0,
    limit: PageLimit = 100,
) -> list[DomainPublic]:
    return domains.list_domains(session, status, after_id, limit, p)


@router.get(
    "/v1/domains/{domain_id}",
    operation_id="get_domain",
    summary="A submitted domain with its entity and wallet addresses",
)
def get_domain(domain_id: RowId, session: SessionDep, p: CaseReaderKey) -> DomainPublic:
    return domains.get(session, domain_id, p)


@router.post(
    "/v1/domains/{domain_id}/approve", operation_id="approve_domain", summary="Approve a pending domain (four eyes)"
)
def approve_domain(
    domain_id: RowId, session: SessionDep, p: SupervisorKey, body: DomainApproval | None = None
) -> DomainPublic:
    """``reason`` is optional, as for a listing; rejecting and delisting require one."""
    return domains.approve(session, domain_id, p, body.reason if body else None)


@router.post("/v1/domains/{domain_id}/reject", operation_id="reject_domain", summary="Reject a pending domain")
def reject_domain(domain_id: RowId, body: DomainReason, session: SessionDep, p: SupervisorKey) -> DomainPublic:
    return domains.reject(session, domain_id, p, body.reason)


@router.post(
    "/v1/domains/{domain_id}/delist",
    operation_id="request_domain_delisting",
    status_code=202,
    summary="Ask to take an active domain out of the feed (a second supervisor confirms)",
)
def delist_domain(domain_id: RowId, body: DomainReason, session: SessionDep, p: SupervisorKey) -> DecisionRequestPublic:
    return decisions.public_request(session, domains.request_delist(session, domain_id, p, body.reason))


@router.post(
    "/v1/domains/{domain_id}/delist/confirm",
    operation_id="confirm_domain_delisting",
    summary="Confirm a pending delisting (the second person)",
)
def confirm_delist_domain(
    domain_id: RowId, session: SessionDep, p: SupervisorKey, body: RequestNote | None = None
) -> DomainPublic:
    return domains.confirm_delist(session, domain_id, p, body.note if body else None)


@router.post(
    "/v1/domains/check", operation_id="check_domain", summary="licensed / blocked / lookalike / unknown, with reasons"
)
def check_domain(body: DomainCheck, session: SessionDep, _p: AnyKey) -> CheckResult:
    return domains.check(session, body.domain)


@router.get(
    "/v1/licensed",
    operation_id="list_licensed_firms",
    summary="The licence register as last fetched, with the curated domains",
)
def licensed(session: SessionDep, _p: AnyKey) -> LicensedList:
    return listing.list_licensed(session)


@router.post(
    "/v1/licensed/{firm_id}/domains",
    operation_id="map_licensed_domain",
    status_code=201,
    summary="Map a domain to a licensed firm (202 and a second supervisor when it unblocks anything)",
    responses={202: {"description": "waits for a second supervisor: it would unblock the names listed"}},
)
def add_licensed_domain(
    firm_id: RowId, body: LicensedDomainCreate, session: SessionDep, p: SupervisorKey, response: Response
) -> LicensedMapping:
    out = mapping.add_licensed_domain(session, firm_id, body.domain, p, body.note)
    if out.status == "pending":
        response.status_code = 202
    return LicensedMapping.model_validate(out, from_attributes=True)


@router.post(
    "/v1/licensed/domains/{domain}/confirm",
    operation_id="confirm_licensed_domain",
    summary="Confirm a mapping that unblocks names",
)
def confirm_licensed_domain(
    domain: Annotated[str, Path(max_length=253)], session: SessionDep, p: SupervisorKey, body: RequestNote | None = None
) -> LicensedMapping:
    out = mapping.confirm_licensed_domain(session, domain, p, body.note if body else None)
    return LicensedMapping.model_validate(out, from_attributes=True)

"""HTTP routes for cases and listings: parse, authorise, call one service function."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from registry.auth.tables import Role
from registry.cases import queries, service
from registry.cases.csv_import import parse_stream
from registry.cases.models import (
    CaseCreate,
    CaseMemberAdd,
    CaseMemberPublic,
    CasePublic,
    CaseWithListings,
    ImportResult,
    ListingApproval,
    ListingCreate,
    ListingPublic,
    ListingReason,
)
from registry.db.engine import session_scope
from registry.decisions import service as decisions
from registry.decisions.models import DecisionRequestPublic, RequestNote
from registry.errors import UnsupportedMediaType
from registry.http.deps import CaseReaderKey, CtxDep, InvestigatorKey, SessionDep, SupervisorKey
from registry.http.errors import ErrorBody
from registry.http.params import AfterId, PageLimit, RowId

router = APIRouter(prefix="/v1", tags=["cases and listings"])

CSV_MEDIA_TYPES = ("text/csv", "text/plain", "application/octet-stream")
"""What the CSV import reads (text/csv is the one documented; the others are what upload tools send)."""


class ListingDecision(ListingPublic):
    registry_version: int | None = None


@router.post("/cases", operation_id="create_case", response_model=CasePublic, status_code=201)
def create_case(body: CaseCreate, who: InvestigatorKey, session: SessionDep) -> CasePublic:
    return CasePublic.model_validate(service.create_case(session, body, who), from_attributes=True)


@router.get("/cases", operation_id="list_cases", response_model=list[CasePublic])
def list_cases(
    who: CaseReaderKey,
    session: SessionDep,
    q: str | None = Query(None, max_length=100, description="part of the case number or title"),
    after_id: AfterId = 0,
    limit: PageLimit = 100,
) -> list[CasePublic]:
    """An investigator's own cases (those they are a member of); a supervisor's: every case."""
    member = None if who.role == Role.supervisor else (who.holder or "")
    return [CasePublic.model_validate(c) for c in queries.list_cases(session, member, q, after_id, limit)]


@router.get("/cases/{case_id}", operation_id="get_case", response_model=CaseWithListings)
def get_case(who: CaseReaderKey, session: SessionDep, case_id: RowId) -> CaseWithListings:
    case = service.case_for(session, case_id, who)
    listings = service.public_listings(session, queries.listings_of_case(session, case_id))
    members = service.public_members(session, queries.members_of(session, case_id))
    return CaseWithListings(**CasePublic.model_validate(case).model_dump(), members=members, listings=listings)


@router.post(
    "/cases/{case_id}/members", operation_id="add_case_member", response_model=CaseMemberPublic, status_code=201
)
def add_member(body: CaseMemberAdd, who: CaseReaderKey, session: SessionDep, case_id: RowId) -> CaseMemberPublic:
    """Add an investigator to the case (by a member, or by a supervisor)."""
    return service.public_members(session, [service.add_member(session, case_id, body.holder, who)])[0]


@router.post("/cases/{case_id}/listings", operation_id="submit_listing", response_model=ListingPublic, status_code=201)
def submit_listing(body: ListingCreate, who: InvestigatorKey, session: SessionDep, case_id: RowId) -> ListingPublic:
    return service.public_listing(session, service.submit_listing(session, case_id, body, who))


@router.post(
    "/cases/{case_id}/listings/import",
    operation_id="import_listings",
    response_model=ImportResult,
    status_code=201,
    responses={415: {"model": ErrorBody, "description": "the body is not sent as text/csv"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "CSV with a header: address,category,confidence,legal_basis"
            "[,chain,evidence_note,valid_until]",
            "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def import_listings(request: Request, who: InvestigatorKey, ctx: CtxDep, case_id: RowId) -> ImportResult:
    """The body is parsed while it arrives (up to ``REGISTRY_MAX_CSV_BYTES``, not the general body limit), and
    inserted in one transaction when every row is good."""
    ctype = request.headers.get("content-type", "")
    if not ctype.lower().startswith(CSV_MEDIA_TYPES):
        raise UnsupportedMediaType(
            f"this route reads CSV, not {ctype or 'a body without Content-Type'}: send the CSV as the request body "
            "with the header Content-Type: text/csv",
            details={"content_type": ctype or None, "accepted": list(CSV_MEDIA_TYPES), "header": "Content-Type"},
        )

    def may_import() -> None:  # 404 / 403 before an upload of tens of MB is read
        with session_scope(ctx.engine) as session:
            service.case_for(session, case_id, who)

    await run_in_threadpool(may_import)
    parsed = await parse_stream(request.stream(), datetime.now(UTC), ctx.settings.max_csv_rows)

    def run() -> ImportResult:
        with session_scope(ctx.engine) as session:
            rows = service.import_csv(session, case_id, parsed, who, ctx.settings.max_csv_rows)
            return ImportResult(case_id=case_id, created=len(rows), listing_ids=rows)

    return await run_in_threadpool(run)


@router.get("/listings/pending", operation_id="list_pending_listings", response_model=list[ListingPublic])
def pending(
    who: SupervisorKey,
    session: SessionDep,
    after_id: AfterId = 0,
    limit: PageLimit = 100,
) -> list[ListingPublic]:
    """The supervisor's queue of listings waiting for a second pair of eyes."""
    return service.public_listings(session, queries.pending_listings(session, limit, after_id))


@router.post("/listings/{listing_id}/approve", operation_id="approve_listing", response_model=ListingDecision)
def approve(
    listing_id: RowId, who: SupervisorKey, session: SessionDep, ctx: CtxDep, body: ListingApproval | None = None
) -> ListingDecision:
    """Approve a pending listing (four eyes: not its submitter); ``reason`` is optional."""
    listing, version = service.approve(session, listing_id, who, body.text if body else None)
    ctx.snapshot.nudge()
    return ListingDecision(**service.public_listing(session, listing).model_dump(), registry_version=version)


@router.post("/listings/{listing_id}/reject", operation_id="reject_listing", response_model=ListingDecision)
def reject(who: SupervisorKey, session: SessionDep, body: ListingReason, listing_id: RowId) -> ListingDecision:
    listing = service.reject(session, listing_id, who, body.reason)
    return ListingDecision(**service.public_listing(session, listing).model_dump())


@router.post(
    "/listings/{listing_id}/delist",
    operation_id="request_listing_delisting",
    response_model=DecisionRequestPublic,
    status_code=202,
)
def delist(who: SupervisorKey, session: SessionDep, body: ListingReason, listing_id: RowId) -> DecisionRequestPublic:
    """Ask for a delisting: it takes effect when a second supervisor confirms it (four eyes)."""
    return decisions.public_request(session, service.request_delist(session, listing_id, who, body.reason))


@router.post(
    "/listings/{listing_id}/delist/confirm", operation_id="confirm_listing_delisting", response_model=ListingDecision
)
def confirm_delist(
    listing_id: RowId, who: SupervisorKey, session: SessionDep, ctx: CtxDep, body: RequestNote | None = None
) -> ListingDecision:
    """The second supervisor confirms the pending delisting; banks see it within a second."""
    listing, _req, version = service.confirm_delist(session, listing_id, who, body.note if body else None)
    ctx.snapshot.nudge()
    return ListingDecision(**service.public_listing(session, listing).model_dump(), registry_version=version)

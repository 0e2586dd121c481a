"""HTTP routes for cases and listings: parse, authorise, call one service function."""

from __future__ import annotations

from fastapi import APIRouter, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from registry.cases import queries, service
from registry.cases.models import (
    Approval,
    CaseCreate,
    CasePublic,
    CaseWithListings,
    Decision,
    ImportResult,
    ListingCreate,
    ListingPublic,
)
from registry.db.engine import session_scope
from registry.errors import InvalidInput
from registry.http.deps import CaseReaderKey, CtxDep, InvestigatorKey, SessionDep, SupervisorKey

router = APIRouter(prefix="/v1", tags=["cases and listings"])

CaseId = Path(ge=1, le=2**31 - 1)
ListingId = Path(ge=1, le=2**31 - 1)


class ListingDecision(ListingPublic):
    registry_version: int | None = None


@router.post("/cases", response_model=CasePublic, status_code=201)
def create_case(body: CaseCreate, who: InvestigatorKey, session: SessionDep) -> CasePublic:
    return CasePublic.model_validate(service.create_case(session, body, who), from_attributes=True)


@router.get("/cases/{case_id}", response_model=CaseWithListings)
def get_case(who: CaseReaderKey, session: SessionDep, case_id: int = CaseId) -> CaseWithListings:
    case = service.get_case(session, case_id)
    listings = [ListingPublic.model_validate(x) for x in queries.listings_of_case(session, case_id)]
    return CaseWithListings(**CasePublic.model_validate(case).model_dump(), listings=listings)


@router.post("/cases/{case_id}/listings", response_model=ListingPublic, status_code=201)
def submit_listing(
    body: ListingCreate, who: InvestigatorKey, session: SessionDep, case_id: int = CaseId
) -> ListingPublic:
    return ListingPublic.model_validate(service.submit_listing(session, case_id, body, who))


@router.post(
    "/cases/{case_id}/listings/import",
    response_model=ImportResult,
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "CSV with a header: address,category,confidence,legal_basis"
            "[,chain,evidence_note,valid_until]",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    },
)
async def import_listings(request: Request, who: InvestigatorKey, ctx: CtxDep, case_id: int = CaseId) -> ImportResult:
    ctype = request.headers.get("content-type", "")
    if not ctype.startswith(("text/csv", "text/plain", "application/octet-stream")):
        raise InvalidInput(
            "send the CSV as the request body with Content-Type: text/csv", code="unsupported_media_type"
        )
    data = await request.body()

    def run() -> ImportResult:
        with session_scope(ctx.engine) as session:
            rows = service.import_csv(session, case_id, data, who, ctx.settings.max_csv_rows)
            return ImportResult(case_id=case_id, created=len(rows), listing_ids=[r.id or 0 for r in rows])

    return await run_in_threadpool(run)


@router.get("/listings/pending", response_model=list[ListingPublic])
def pending(
    who: SupervisorKey,
    session: SessionDep,
    after_id: int = Query(0, ge=0),
    limit: int = Query(100, ge=1, le=1000),
) -> list[ListingPublic]:
    """The supervisor's queue of listings waiting for a second pair of eyes."""
    return [ListingPublic.model_validate(x) for x in queries.pending_listings(session, limit, after_id)]


@router.post("/listings/{listing_id}/approve", response_model=ListingDecision)
def approve(
    who: SupervisorKey, session: SessionDep, ctx: CtxDep, body: Approval | None = None, listing_id: int = ListingId
) -> ListingDecision:
    listing, version = service.approve(session, listing_id, who, body.note if body else None)
    ctx.snapshot.nudge()
    return ListingDecision(**ListingPublic.model_validate(listing).model_dump(), registry_version=version)


@router.post("/listings/{listing_id}/reject", response_model=ListingDecision)
def reject(who: SupervisorKey, session: SessionDep, body: Decision, listing_id: int = ListingId) -> ListingDecision:
    listing = service.reject(session, listing_id, who, body.reason)
    return ListingDecision(**ListingPublic.model_validate(listing).model_dump())


@router.post("/listings/{listing_id}/delist", response_model=ListingDecision)
def delist(
    who: SupervisorKey, session: SessionDep, ctx: CtxDep, body: Decision, listing_id: int = ListingId
) -> ListingDecision:
    listing, version = service.delist(session, listing_id, who, body.reason)
    ctx.snapshot.nudge()
    return ListingDecision(**ListingPublic.model_validate(listing).model_dump(), registry_version=version)

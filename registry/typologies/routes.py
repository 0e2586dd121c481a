"""``GET /v1/typologies`` (the catalogue, any role), its document (HTML/PDF, ru/en) and
``GET /v1/cases/{case_id}/candidates`` (investigators who are members of the case, supervisors)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from registry.http.deps import AnyKey, CaseReaderKey, CtxDep, SessionDep
from registry.http.params import RowId
from registry.scoring.settings import ScoringSettings, get_scoring_settings
from registry.typologies import document, service
from registry.typologies.models import CandidateList, TypologyCatalogue
from registry.typologies.settings import get_typology_settings

router = APIRouter(prefix="/v1", tags=["typologies"])


@router.get("/typologies", operation_id="list_typologies", response_model=TypologyCatalogue)
def list_typologies(who: AnyKey) -> TypologyCatalogue:
    """The versioned typology catalogue: each typology's description (ru, en), the indicators and thresholds it
    uses and the fiat red flags a bank should look for. A match reviews, never blocks."""
    return service.catalogue_public()


@router.get(
    "/typologies/document",
    operation_id="typology_document",
    response_class=Response,
    responses={200: {"content": {"text/html": {}, "application/pdf": {}}, "description": "the catalogue document"}},
)
async def typology_document(
    who: AnyKey,
    format: Literal["html", "pdf"] = Query("html", description="html or pdf"),
    lang: Literal["ru", "en"] = Query("ru", description="ru or en"),
) -> Response:
    """The catalogue as a document banks read and circulate (HTML or PDF, Russian or English)."""
    settings = get_typology_settings()
    if format == "pdf":
        body = await run_in_threadpool(document.pdf, settings, lang)
        name = f"typologies-{lang}.pdf"
        return Response(
            body, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'}
        )
    return Response(document.html(settings, lang), media_type="text/html; charset=utf-8")


def _scoring_settings(request: Request) -> ScoringSettings:
    found = getattr(request.app.state, "scoring_settings", None)
    return found if isinstance(found, ScoringSettings) else get_scoring_settings()


@router.get("/cases/{case_id}/candidates", operation_id="list_candidates", response_model=CandidateList)
def list_candidates(
    who: CaseReaderKey,
    session: SessionDep,
    ctx: CtxDep,
    request: Request,
    case_id: RowId,
    limit: int = Query(50, ge=1, le=500, description="most candidates returned"),
) -> CandidateList:
    """Addresses matching a typology and linked by flow to the case's addresses, ranked, with the evidence
    (indicator values, the link's share and path). Accept one with ``POST`` on the same path: a pending
    ``money_mule`` listing with confidence ``heuristic`` that a different supervisor approves."""
    return service.candidates(session, ctx.engine, case_id, who, _scoring_settings(request), limit=limit)

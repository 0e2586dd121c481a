"""``/v1/reports`` (supervisor): the period statistics, the report in four formats and the stored drafts;
``/v1/exports/cis`` (supervisor): the signed CIS dataset; its JSON Schema and the public key are published (no key).

Sync routes on purpose: reading a period's figures and rendering a PDF take a second of CPU, which FastAPI then
runs in its thread pool instead of the event loop. The figures are read in a snapshot of their own
(``service.statistics``), not in the request's session: a report must not hold SQLite's write lock.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from starlette.responses import Response

from registry.http.deps import CtxDep, SessionDep, SupervisorKey
from registry.http.responses import ORJSONResponse
from registry.reports import cis, service
from registry.reports.models import DraftPublic, Statistics
from registry.reports.periods import parse
from registry.reports.settings import get_report_settings

router = APIRouter(tags=["reports"])

PeriodPath = Annotated[
    str,
    Path(
        min_length=6,
        max_length=22,
        description="2026H1, 2026H2, or a range of days FROM..TO (2026-03-01..2026-04-30, both included)",
    ),
]
DraftFlag = Annotated[
    bool, Query(description="the draft stored when the half-year closed, instead of the figures read now")
]

_FILES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the report: PDF, HTML, the statistics document (JSON) or CSV, as `format` asks",
        "content": {
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
            "application/json": {"schema": {"$ref": "#/components/schemas/Statistics"}},
            "text/html": {"schema": {"type": "string"}},
            "text/csv": {"schema": {"type": "string"}},
        },
        "headers": {
            "X-Report-SHA256": {
                "description": "sha256 of the statistics the report shows",
                "schema": {"type": "string"},
            }
        },
    }
}


@router.get(
    "/v1/reports/drafts",
    operation_id="list_report_drafts",
    summary="The drafts prepared when each half-year closed",
    response_model=list[DraftPublic],
)
def list_drafts(session: SessionDep, _p: SupervisorKey) -> list[DraftPublic]:
    return service.drafts(session)


@router.get(
    "/v1/reports/{period}/statistics",
    operation_id="get_report_statistics",
    summary="The figures of a period and of the period before it",
    response_model=Statistics,
)
def get_statistics(period: PeriodPath, ctx: CtxDep, _p: SupervisorKey, draft: DraftFlag = False) -> Statistics:
    return service.period_statistics(ctx.engine, parse(period), draft=draft, policy_version=ctx.settings.policy_version)


@router.get(
    "/v1/reports/{period}",
    operation_id="get_report",
    summary="The period report: PDF or HTML (tables and charts), JSON or CSV",
    response_class=Response,
    responses=_FILES,
)
def get_report(
    period: PeriodPath,
    ctx: CtxDep,
    _p: SupervisorKey,
    format: Literal["pdf", "html", "json", "csv"] = Query("pdf", description="pdf, html, json or csv"),
    lang: Literal["ru", "en"] | None = Query(None, description="ru or en (default REGISTRY_REPORTS_LANG)"),
    draft: DraftFlag = False,
) -> Response:
    stats, out = service.report(
        ctx.engine,
        parse(period),
        fmt=format,
        lang=lang or get_report_settings().reports_lang,
        draft=draft,
        policy_version=ctx.settings.policy_version,
    )
    disposition = "attachment" if format == "csv" else "inline"
    return Response(
        out.body,
        media_type=out.media_type,
        headers={
            "Content-Disposition": f'{disposition}; filename="{out.filename}"',
            "X-Report-SHA256": stats.sha256,
        },
    )


@router.get(
    "/v1/exports/cis/schema",
    operation_id="get_cis_schema",
    summary="The JSON Schema of the CIS export (published: no key needed)",
    response_class=ORJSONResponse,
    responses={200: {"content": {"application/schema+json": {"schema": {"type": "object"}}}}},
)
def cis_schema() -> Response:
    return ORJSONResponse(cis.schema(), media_type="application/schema+json")


@router.get(
    "/v1/exports/cis/public-key",
    operation_id="get_cis_public_key",
    summary="The Ed25519 public key that signs the CIS export (the blocklist manifest's key; no key needed)",
)
def cis_public_key() -> dict[str, str]:
    return service.cis_public_key()


@router.get(
    "/v1/exports/cis",
    operation_id="export_cis",
    summary="The signed, aggregated CIS dataset of a period: no identifiers, small cells suppressed",
    responses={200: {"content": {"application/json": {"schema": {"type": "object"}}}}},
)
def export_cis(
    ctx: CtxDep,
    _p: SupervisorKey,
    period: str = Query(min_length=6, max_length=22, description="2026H1, 2026H2 or FROM..TO"),
) -> dict[str, Any]:
    return service.signed_cis_export(ctx.engine, parse(period), policy_version=ctx.settings.policy_version)

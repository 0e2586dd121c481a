"""The address page and the money graph's data.

The graph (Cytoscape.js, ``static/graph.js``) fetches its nodes from ``/console/api/…``: the investigations API's
answers, served to the console's session instead of an API key. The API itself still takes keys only (a cookie
never authenticates ``/v1``); these routes are read-only GETs behind the same session, role and ``SameSite=Strict``
cookie as the pages, so another site can neither read them nor make a browser change anything through them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import HTMLResponse, Response

from registry.console import service
from registry.console.deps import CaseReader, error_page, page, redirect
from registry.console.web import page_route
from registry.http.deps import CtxDep, SessionDep
from registry.investigations.models import Counterparties, Trace
from registry.scoring.settings import ScoringSettings, get_scoring_settings

pages = APIRouter(prefix="/console", route_class=page_route(error_page), include_in_schema=False)
api = APIRouter(prefix="/console/api", include_in_schema=False)


def _scoring(request: Request) -> ScoringSettings:
    """The settings the scores were computed with (set on the app when it is built), as the API routes read them."""
    found = getattr(request.app.state, "scoring_settings", None)
    return found if isinstance(found, ScoringSettings) else get_scoring_settings()


Scoring = Annotated[ScoringSettings, Depends(_scoring)]
Hops = Annotated[int, Query(ge=1, le=6)]


@pages.get("/addresses", operation_id="console_address_lookup", response_class=HTMLResponse)
def lookup(
    request: Request,
    user: CaseReader,
    address: str = Query("", max_length=128),
    chain: str = Query("", max_length=16),
) -> Response:
    """A form to open an address; with an address, straight to its page."""
    if not address.strip():
        return page(request, "address_lookup.html", {"address": "", "chain": chain})
    found_chain, _family, normal = service.normalized_address(chain or None, address.replace("\x00", ""))
    return redirect(f"/console/addresses/{found_chain}/{normal}")


@pages.get("/addresses/{chain}/{address}", operation_id="console_address", response_class=HTMLResponse)
def address_page(
    request: Request,
    user: CaseReader,
    ctx: CtxDep,
    scoring: Scoring,
    chain: str,
    address: str,
    direction: Literal["forward", "backward"] = "forward",
    hops: Hops = 3,
) -> Response:
    found = service.address_page(ctx, scoring, user, chain, address, direction=direction, hops=hops)
    return page(request, "address.html", {"a": found, "chain": chain, "categories": service.category_legend()})


@pages.get("/addresses/{chain}/{address}/evidence", operation_id="console_evidence_pack")
def evidence_pack(
    user: CaseReader,
    ctx: CtxDep,
    scoring: Scoring,
    session: SessionDep,
    chain: str,
    address: str,
    format: Literal["pdf", "csv", "json"] = "pdf",
) -> Response:
    """The evidence pack to download (PDF, CSV or JSON), recorded in the audit log as taken by this person."""
    pack = service.evidence_pack(session, ctx, scoring, user, chain, address, format)
    return Response(
        pack.body,
        media_type=pack.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{pack.filename}"',
            "X-Evidence-SHA256": pack.sha256,
            "Cache-Control": "no-store",
        },
    )


@api.get("/addresses/{chain}/{address}/counterparties", operation_id="console_graph_counterparties")
def graph_counterparties(
    user: CaseReader,
    ctx: CtxDep,
    scoring: Scoring,
    chain: str,
    address: str,
    direction: Literal["in", "out", "both"] = "both",
    limit: Annotated[int, Query(ge=1, le=200)] = 25,
) -> Counterparties:
    """A node's counterparties: what expanding it adds to the graph."""
    return service.counterparties(ctx, scoring, chain, address, direction=direction, limit=limit, after=None)


@api.get("/addresses/{chain}/{address}/trace", operation_id="console_graph_trace")
def graph_trace(
    user: CaseReader,
    ctx: CtxDep,
    scoring: Scoring,
    chain: str,
    address: str,
    direction: Literal["forward", "backward"] = "forward",
    hops: Hops = 3,
) -> Trace:
    """Forward or backward within the hop limit: the nodes and edges the graph draws at once."""
    return service.trace_of(ctx, scoring, chain, address, direction=direction, hops=hops)

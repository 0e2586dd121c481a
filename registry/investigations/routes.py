"""``/v1/addresses/{chain}/{address}/counterparties|trace|paths|destinations`` and ``/v1/cases/{id}/candidates``:
parse, authorise (investigators and supervisors; banks and ISPs get 403), call one service function."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.engine import Engine

from registry.errors import InvalidInput
from registry.http.deps import CaseReaderKey, CtxDep, InvestigatorKey, SessionDep
from registry.http.params import RowId
from registry.investigations import service
from registry.investigations.models import (
    CandidatesCreate,
    CandidatesOut,
    Counterparties,
    Destinations,
    Paths,
    Trace,
)
from registry.scoring.settings import ScoringSettings, get_scoring_settings
from registry.screening.snapshot import Snapshot

router = APIRouter(prefix="/v1", tags=["investigations"])


@dataclass(frozen=True)
class Asked:
    """What every question about an address starts from: the store, the snapshot banks see, the scoring's
    settings (prices, dust, assets: set when the app is built) and the address asked about."""

    engine: Engine
    snapshot: Snapshot
    scoring: ScoringSettings
    chain: str
    address: str

    @property
    def who(self) -> service.Subject:
        """The address validated (422 naming the reason), read in the route: after the key's role (403) and the
        query parameters (422 naming them) have been checked, as ``GET /v1/addresses/{chain}/{address}`` does."""
        return service.subject(self.chain, self.address)


def _asked(chain: str, address: str, _key: CaseReaderKey, ctx: CtxDep, request: Request) -> Asked:
    found = getattr(request.app.state, "scoring_settings", None)
    scoring = found if isinstance(found, ScoringSettings) else get_scoring_settings()
    return Asked(ctx.engine, ctx.snapshot.current, scoring, chain, address)


AskedDep = Annotated[Asked, Depends(_asked)]
Hops = Annotated[int, Query(ge=1, le=6, description="how many hops to follow (1-6)")]
Share = Annotated[float, Query(ge=0, le=1, description="leave out addresses reached with a smaller share")]


@router.get(
    "/addresses/{chain}/{address}/counterparties", operation_id="get_counterparties", response_model=Counterparties
)
def get_counterparties(
    q: AskedDep,
    direction: Literal["in", "out", "both"] = "both",
    sort: Literal["value", "count", "first_seen", "last_seen"] = "value",
    order: Literal["desc", "asc"] = "desc",
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    after: Annotated[str | None, Query(max_length=200, description="the previous page's next")] = None,
) -> Counterparties:
    """Who paid the address and whom it paid: per counterparty and direction, amounts in human units, total
    value, transfer count, first and last seen, and the counterparty's listing, risk and entity."""
    return service.counterparties(
        q.engine, q.snapshot, q.scoring, q.who, direction=direction, sort=sort, order=order, limit=limit, after=after
    )


@router.get("/addresses/{chain}/{address}/trace", operation_id="trace_address", response_model=Trace)
def trace_address(
    q: AskedDep,
    direction: Literal["forward", "backward"] = "forward",
    hops: Hops = 3,
    min_share: Share = 0.01,
    limit: Annotated[int, Query(ge=1, le=1000, description="most nodes returned, the origin included")] = 200,
) -> Trace:
    """Follow the money forward (where it went) or backward (where it came from): the addresses reached with the
    scoring's haircut share, and the edges between them."""
    return service.trace_address(
        q.engine, q.snapshot, q.scoring, q.who, direction=direction, hops=hops, min_share=min_share, limit=limit
    )


@router.get("/addresses/{chain}/{address}/paths", operation_id="find_paths", response_model=Paths)
def find_paths(
    q: AskedDep,
    to: Annotated[str | None, Query(max_length=128, description="the other address (same chain)")] = None,
    category: Annotated[str | None, Query(max_length=32, description="or: a listed category")] = None,
    max_hops: Hops = 4,
    limit: Annotated[int, Query(ge=1, le=20)] = 10,
) -> Paths:
    """The top paths to another address or to the listed addresses of a category, each hop with its transactions
    (tx id, time, position, amount in human units) and share."""
    if (to is None) == (category is None):
        raise InvalidInput(
            "give exactly one of to (an address) or category",
            details={"in": "query", "field": "to", "reason": "missing" if to is None else "extra_forbidden"},
        )
    who = q.who
    target = service.subject(who.chain, to, name="to", where="query") if to is not None else None
    return service.find_paths(
        q.engine, q.snapshot, q.scoring, who, to=target, category=category, max_hops=max_hops, limit=limit
    )


@router.get("/addresses/{chain}/{address}/destinations", operation_id="get_destinations", response_model=Destinations)
def get_destinations(q: AskedDep, hops: Hops = 3, limit: Annotated[int, Query(ge=1, le=1000)] = 20) -> Destinations:
    """Where did it go: the wallets that received the largest shares of the address's outflow, ranked; those
    that are neither licensed nor listed are candidates (POST /v1/cases/{id}/candidates)."""
    return service.destinations(q.engine, q.snapshot, q.scoring, q.who, hops=hops, limit=limit)


@router.post(
    "/cases/{case_id}/candidates", operation_id="submit_candidates", response_model=CandidatesOut, status_code=201
)
def submit_candidates(
    body: CandidatesCreate, who: InvestigatorKey, session: SessionDep, case_id: RowId
) -> CandidatesOut:
    """Submit the wallets found by following the money as pending listings of the case, in one action (all or
    nothing, each audited); a second person approves them as any listing."""
    return CandidatesOut(listings=service.submit_candidates(session, case_id, body, who))

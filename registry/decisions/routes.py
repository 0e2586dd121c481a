"""The queue of decisions waiting for a second person, and withdrawing one. Confirming is the owning feature's
route (``/v1/listings/{id}/delist/confirm``, ``/v1/domains/{id}/delist/confirm``, ``/v1/licensed/requests/…``),
because confirming carries the decision out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from registry.decisions import service
from registry.decisions.models import CancelRequest, DecisionRequestPublic
from registry.http.deps import SessionDep, SupervisorKey
from registry.http.params import AfterId, PageLimit, RowId

router = APIRouter(prefix="/v1", tags=["four eyes"])


@router.get("/requests", operation_id="list_decision_requests", response_model=list[DecisionRequestPublic])
def list_requests(
    who: SupervisorKey,
    session: SessionDep,
    status: Annotated[str | None, Query(description="pending | confirmed | cancelled")] = "pending",
    after_id: AfterId = 0,
    limit: PageLimit = 100,
) -> list[DecisionRequestPublic]:
    """Decisions one person asked for, waiting for a second person (by default only the pending ones)."""
    return service.public_requests(session, service.list_requests(session, status, after_id, limit))


@router.post(
    "/requests/{request_id}/cancel", operation_id="cancel_decision_request", response_model=DecisionRequestPublic
)
def cancel(who: SupervisorKey, session: SessionDep, body: CancelRequest, request_id: RowId) -> DecisionRequestPublic:
    """Withdraw (the requester) or refuse (another supervisor) a pending request; nothing changes."""
    return service.public_request(session, service.cancel(session, request_id, who, body.reason))

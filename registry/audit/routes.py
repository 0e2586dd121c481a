from __future__ import annotations

from fastapi import APIRouter, Query

from registry.audit import service
from registry.audit.tables import AuditEventPublic
from registry.http.deps import AdminKey, SessionDep
from registry.http.params import MAX_ID

router = APIRouter(prefix="/v1", tags=["audit"])


@router.get("/audit", operation_id="list_audit_events", response_model=list[AuditEventPublic])
def list_audit(
    _key: AdminKey,
    session: SessionDep,
    after_id: int = Query(0, ge=0, le=MAX_ID, description="return events with a larger id (paging)"),
    limit: int = Query(100, ge=1, le=1000),
    entity_type: str | None = Query(None, max_length=32),
    entity_id: str | None = Query(None, max_length=300),
) -> list[AuditEventPublic]:
    rows = service.list_events(session, after_id, limit, entity_type, entity_id)
    return [AuditEventPublic.model_validate(r, from_attributes=True) for r in rows]

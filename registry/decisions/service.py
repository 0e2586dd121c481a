"""Requests that a second person confirms: open, confirm (atomically, by someone else), cancel, list.

The feature that owns the decision (listings, domains, the licensed register) opens the request and, on
confirmation, carries the decision out in the same transaction; this module only keeps the requests honest: one
pending request per target (a partial unique index, so concurrent requests get 409), a confirmation that only one
of concurrent confirmers wins (a conditional UPDATE on the pending status), and the four-eyes rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, col, select

from registry.audit.service import record
from registry.auth.persons import require_person, require_second_person
from registry.auth.service import Principal, with_names
from registry.db.transitions import add_unique, transition
from registry.db.types import utcnow
from registry.decisions.models import DecisionRequestPublic
from registry.decisions.tables import DecisionRequest, RequestStatus
from registry.errors import Conflict, InvalidInput, NotFound


def request_dict(r: DecisionRequest) -> dict[str, Any]:
    return {
        "id": r.id,
        "kind": r.kind,
        "target": r.target,
        "payload": r.payload,
        "reason": r.reason,
        "status": r.status,
        "requested_holder": r.requested_holder,
        "decided_holder": r.decided_holder,
    }


def public_requests(session: Session, rows: Sequence[DecisionRequest]) -> list[DecisionRequestPublic]:
    """Requests as people read them: each person also by their name as written (one query for all of them)."""
    return with_names(session, rows, DecisionRequestPublic)


def public_request(session: Session, row: DecisionRequest) -> DecisionRequestPublic:
    [x] = public_requests(session, [row])
    return x


def pending_for(session: Session, kind: str, target: str) -> DecisionRequest | None:
    return session.exec(
        select(DecisionRequest).where(
            DecisionRequest.kind == kind,
            DecisionRequest.target == target,
            DecisionRequest.status == RequestStatus.pending.value,
        )
    ).first()


def open_request(
    session: Session, kind: str, target: str, reason: str, who: Principal, payload: dict[str, Any] | None = None
) -> DecisionRequest:
    """Record that ``who`` asks for a decision; 409 naming the open request if one is already pending."""
    person = require_person(who.holder, kind)
    existing = pending_for(session, kind, target)
    if existing is not None:
        raise Conflict(
            f"a {kind} request for {target} is already pending (request {existing.id}); a second person confirms it",
            details={"request_id": existing.id},
        )
    row = DecisionRequest(
        kind=kind,
        target=target,
        payload=payload or {},
        reason=reason,
        requested_by=who.ref,
        requested_holder=person,
        requested_at=utcnow(),
    )
    add_unique(session, row, f"a {kind} request for {target} is already pending; a second person confirms it")
    record(
        session,
        who.actor,
        action=f"request.{kind}",
        entity_type="decision_request",
        entity_id=str(row.id),
        after=request_dict(row),
    )
    return row


def confirm(session: Session, request_id: int, who: Principal, note: str | None = None) -> DecisionRequest:
    """Mark the request confirmed by ``who`` (a person other than the requester). Exactly one of concurrent
    confirmations wins; the others get 409. The caller carries the decision out in the same transaction."""
    row = _get(session, request_id)
    person = require_second_person(row.requested_holder, who.holder, row.kind)
    return _close(session, row, who, person, RequestStatus.confirmed, note)


def cancel(session: Session, request_id: int, who: Principal, reason: str) -> DecisionRequest:
    """Withdraw a pending request (the requester, or a supervisor who refuses it)."""
    row = _get(session, request_id)
    person = require_person(who.holder, "cancelling a request")
    _close(session, row, who, person, RequestStatus.cancelled, reason)
    session.commit()
    return row


def _get(session: Session, request_id: int) -> DecisionRequest:
    row = session.get(DecisionRequest, request_id)
    if row is None:
        raise NotFound(f"no decision request with id {request_id}")
    return row


def _close(
    session: Session, row: DecisionRequest, who: Principal, person: str, to: RequestStatus, note: str | None
) -> DecisionRequest:
    """Move a pending request to ``to`` with a conditional UPDATE (one of concurrent deciders wins, the others get
    409) and audit it as ``confirm.<kind>`` or ``cancel.<kind>``."""
    won = transition(
        session,
        DecisionRequest,
        [col(DecisionRequest.id) == row.id, col(DecisionRequest.status) == RequestStatus.pending.value],
        {
            "status": to.value,
            "decided_by": who.ref,
            "decided_holder": person,
            "decided_at": utcnow(),
            "decision_note": note,
        },
    )
    session.refresh(row)
    if not won:
        verb = "confirmed" if to == RequestStatus.confirmed else "cancelled"
        raise Conflict(f"decision request {row.id} is {row.status}; only a pending request can be {verb}")
    verb = "confirm" if to == RequestStatus.confirmed else "cancel"
    record(
        session,
        who.actor,
        action=f"{verb}.{row.kind}",
        entity_type="decision_request",
        entity_id=str(row.id),
        after=request_dict(row),
    )
    return row


def list_requests(session: Session, status: str | None, after_id: int, limit: int) -> list[DecisionRequest]:
    q = select(DecisionRequest).where(col(DecisionRequest.id) > after_id)
    if status is not None:
        if status not in {s.value for s in RequestStatus}:
            raise InvalidInput(f"unknown status {status!r}; statuses: {', '.join(s.value for s in RequestStatus)}")
        q = q.where(DecisionRequest.status == status)
    return list(session.exec(q.order_by(col(DecisionRequest.id)).limit(limit)).all())

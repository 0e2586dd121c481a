"""Decision requests as the audit log and the queue keep them, and the four-eyes refusal as a client reads it.

Written against the survivors of ``make mutate`` (README "Mutation testing"): what each request, confirmation and
cancellation leaves in the audit log (who asked, what, why, who decided, the note), that a finished request no
longer blocks a new one, the queue's paging, and the refusal's ``details.person`` and message.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from registry.audit.tables import AuditEvent
from registry.auth.persons import FourEyesViolation, check_holder, require_person, require_second_person
from registry.auth.service import Principal
from registry.auth.tables import Role
from registry.decisions import service
from registry.decisions.tables import RequestStatus
from registry.errors import Conflict, InvalidInput, NotFound

ALICE = Principal(key_id=11, role=Role.supervisor, org="FIU", holder="alice")
BOB = Principal(key_id=12, role=Role.supervisor, org="FIU", holder="bob")


def _events(session: Session, action: str) -> list[AuditEvent]:
    return list(session.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(col(AuditEvent.id))))


def test_a_request_its_confirmation_and_a_cancellation_are_audited_in_full(engine: Engine) -> None:
    with Session(engine) as s:
        req = service.open_request(s, "listing.delist", "listing:7", "court order 12", ALICE, {"listing_id": 7})
        s.commit()
        assert req.payload == {"listing_id": 7}
        service.confirm(s, req.id, BOB, note="checked the order")
        s.commit()
        other = service.open_request(s, "domain.delist", "domain:x.kz", "licensed since May", BOB)
        s.commit()
        assert other.payload == {}
        service.cancel(s, other.id, ALICE, "no licence found")

        (asked,) = _events(s, "request.listing.delist")
        assert (asked.entity_type, asked.entity_id) == ("decision_request", str(req.id))
        assert asked.after == {
            "id": req.id,
            "kind": "listing.delist",
            "target": "listing:7",
            "payload": {"listing_id": 7},
            "reason": "court order 12",
            "status": "pending",
            "requested_holder": "alice",
            "decided_holder": None,
        }
        (confirmed,) = _events(s, "confirm.listing.delist")
        assert (confirmed.entity_type, confirmed.entity_id) == ("decision_request", str(req.id))
        assert confirmed.after is not None and confirmed.actor_id == "12"
        assert {k: confirmed.after[k] for k in ("status", "requested_holder", "decided_holder")} == {
            "status": "confirmed",
            "requested_holder": "alice",
            "decided_holder": "bob",
        }
        (cancelled,) = _events(s, "cancel.domain.delist")
        assert (cancelled.entity_type, cancelled.entity_id) == ("decision_request", str(other.id))
        assert cancelled.after is not None and cancelled.after["status"] == "cancelled"
        assert cancelled.after["decided_holder"] == "alice" and _events(s, "confirm.domain.delist") == []
        s.refresh(req)
        s.refresh(other)
        assert (req.decision_note, req.decided_holder) == ("checked the order", "bob")
        assert (other.decision_note, other.decided_holder, other.status) == ("no licence found", "alice", "cancelled")


def _only_a_pending_request_of_the_same_kind_blocks_a_new_one(engine: Engine) -> None:
    with Session(engine) as s:
        first = service.open_request(s, "listing.delist", "listing:9", "first", ALICE)
        s.commit()
        with pytest.raises(Conflict) as again:
            service.open_request(s, "listing.delist", "listing:9", "again", BOB)
        assert again.value.details == {"request_id": first.id} and "already pending" in again.value.message
        s.rollback()
        other_kind = service.open_request(s, "listing.relist", "listing:9", "another decision", BOB)
        s.commit()
        service.cancel(s, first.id, ALICE, "withdrawn")
        assert service.pending_for(s, "listing.delist", "listing:9") is None
        renewed = service.open_request(s, "listing.delist", "listing:9", "asked anew", BOB)
        s.commit()
        assert service.pending_for(s, "listing.delist", "listing:9") == renewed
        assert service.pending_for(s, "listing.relist", "listing:9") == other_kind


def _the_queue_pages_by_id_and_refuses_an_unknown_status(engine: Engine) -> None:
    with Session(engine) as s:
        before = max((r.id for r in service.list_requests(s, None, 0, 1_000)), default=0)
        ids = []
        for n in range(5):
            ids.append(service.open_request(s, "listing.delist", f"queue:{n}", "r", ALICE).id)
            s.commit()
        service.cancel(s, ids[1], ALICE, "withdrawn")
        assert [r.id for r in service.list_requests(s, None, before, 100)] == ids
        assert [r.id for r in service.list_requests(s, None, ids[1], 2)] == ids[2:4]
        assert [r.id for r in service.list_requests(s, "pending", before, 100)] == [ids[0], *ids[2:]]
        assert [r.id for r in service.list_requests(s, RequestStatus.cancelled.value, before, 100)] == [ids[1]]
        with pytest.raises(InvalidInput) as bad:
            service.list_requests(s, "done", 0, 100)
        assert "'done'" in bad.value.message and "pending, confirmed, cancelled" in bad.value.message
        with pytest.raises(NotFound) as missing:
            service.confirm(s, 999_999, BOB)
        assert "999999" in missing.value.message


def _a_finished_request_cannot_be_decided_again(engine: Engine) -> None:
    with Session(engine) as s:
        req = service.open_request(s, "listing.delist", "listing:3", "r", ALICE)
        s.commit()
        service.cancel(s, req.id, BOB, "refused")
        with pytest.raises(Conflict) as late:
            service.confirm(s, req.id, BOB)
        assert late.value.message == f"decision request {req.id} is cancelled; only a pending request can be confirmed"
        s.rollback()
        with pytest.raises(Conflict) as twice:
            service.cancel(s, req.id, ALICE, "again")
        assert twice.value.message == f"decision request {req.id} is cancelled; only a pending request can be cancelled"


def _refusal(maker: str | None, decider: str | None) -> Any:
    with pytest.raises(FourEyesViolation) as refused:
        require_second_person(maker, decider, "approving listing 5")
    return refused.value


def test_the_four_eyes_refusal_names_the_person_and_the_decision() -> None:
    same = _refusal("Alice", " ALICE ")
    assert same.code == "four_eyes" and same.details == {"person": "alice"}
    assert same.message == "four eyes: approving listing 5 needs a second person; 'alice' made the request"
    nobody = _refusal("alice", "  ")
    assert "approving listing 5" in nobody.message and "--holder" in nobody.message
    assert require_second_person("alice", "Bob", "approving listing 5") == "bob"
    assert require_second_person(None, "Bob", "approving listing 5") == "bob"  # an import: nobody to collide with
    with pytest.raises(FourEyesViolation) as no_holder:
        require_person(None, "cancelling a request")
    assert "cancelling a request" in no_holder.value.message


def _confirming_ones_own_request_is_refused_naming_the_kind(engine: Engine) -> None:
    with Session(engine) as s:
        req = service.open_request(s, "listing.delist", "listing:4", "r", ALICE)
        s.commit()
        with pytest.raises(FourEyesViolation) as refused:
            service.confirm(s, req.id, Principal(key_id=99, role=Role.supervisor, org="FIU", holder="alice"))
        assert refused.value.details == {"person": "alice"} and "listing.delist" in refused.value.message
        nameless = Principal(key_id=98, role=Role.supervisor, org="FIU")
        with pytest.raises(FourEyesViolation) as anonymous:
            service.open_request(s, "domain.delist", "domain:y.kz", "r", nameless)
        assert "domain.delist" in anonymous.value.message
        with pytest.raises(FourEyesViolation) as cancel_anonymous:
            service.cancel(s, req.id, nameless, "r")
        assert cancel_anonymous.value.message == (
            "four eyes: cancelling a request needs a key that names its holder (keys create --holder)"
        )


def test_a_key_holder_must_be_a_name() -> None:
    assert check_holder("  Saule  Timur ") == "saule timur"
    for blank in ("", "   ", "\t"):
        with pytest.raises(InvalidInput) as empty:
            check_holder(blank)
        assert empty.value.message == "the holder's name is empty"
    with pytest.raises(InvalidInput) as long:
        check_holder("x" * 201)
    assert long.value.message == "the holder's name is longer than 200 characters"
    assert check_holder("x" * 200) == "x" * 200


def test_the_rules_of_a_request_and_of_the_queue(engine: Engine) -> None:
    """One test (one database per backend) for four checks that share nothing but the database."""
    _only_a_pending_request_of_the_same_kind_blocks_a_new_one(engine)
    _the_queue_pages_by_id_and_refuses_an_unknown_status(engine)
    _a_finished_request_cannot_be_decided_again(engine)
    _confirming_ones_own_request_is_refused_naming_the_kind(engine)

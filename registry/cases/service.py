"""Cases and listings: submission, four-eyes decisions, expiry.

Every change writes its audit event in the same transaction and commits before the HTTP response is sent, so an
investigator who got a 2xx knows the change is durable. Changes that alter what a bank sees also bump the
``registry`` counter in that transaction, which is what makes every worker reload its screening snapshot.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from registry.audit.service import Actor, Change, record, record_many
from registry.auth.persons import FourEyesViolation, check_holder, require_person, require_second_person
from registry.auth.service import Principal, with_names
from registry.auth.tables import Role
from registry.cases import queries
from registry.cases.checks import CheckedListing, check_listing
from registry.cases.csv_import import ParsedCsv, parse_chunks
from registry.cases.models import CaseCreate, CaseMemberPublic, ListingCreate, ListingPublic
from registry.cases.tables import Case, CaseMember, Listing, ListingStatus
from registry.db import state
from registry.db.transitions import add_unique, transition
from registry.decisions import service as decisions
from registry.decisions.tables import DecisionRequest
from registry.errors import Conflict, Forbidden, InvalidInput, NotFound, PayloadTooLarge


def _now() -> datetime:
    return datetime.now(UTC)


def listing_dict(listing: Listing) -> dict[str, Any]:
    """A listing as the audit log records it (the display names are not part of it)."""
    return ListingPublic.model_validate(listing, from_attributes=True).model_dump(
        mode="json", exclude=ListingPublic.name_fields()
    )


def public_listings(session: Session, rows: Sequence[Listing]) -> list[ListingPublic]:
    """Listings as people read them: each person also by their name as written (one query for all of them)."""
    return with_names(session, rows, ListingPublic)


def public_listing(session: Session, row: Listing) -> ListingPublic:
    [x] = public_listings(session, [row])
    return x


def public_members(session: Session, rows: Sequence[CaseMember]) -> list[CaseMemberPublic]:
    return with_names(session, rows, CaseMemberPublic)


def create_case(session: Session, data: CaseCreate, who: Principal) -> Case:
    """The creator becomes the case's first member: investigators see and change only their own cases."""
    person = require_person(who.holder, "creating a case")
    existing = queries.case_by_number(session, data.number)
    if existing is not None:
        raise Conflict(f"case {data.number!r} already exists", details={"id": existing.id})
    case = Case(
        number=data.number,
        title=data.title,
        secrecy=data.secrecy,
        created_by=who.key_id,
        created_org=who.org,
        created_at=_now(),
    )
    add_unique(session, case, f"case {data.number!r} already exists")
    session.add(CaseMember(case_id=case.id or 0, person=person, added_by=person, added_at=_now()))
    session.flush()
    record(
        session,
        who.actor,
        action="case.create",
        entity_type="case",
        entity_id=str(case.id),
        after=data.model_dump(mode="json"),
    )
    session.commit()
    return case


def get_case(session: Session, case_id: int) -> Case:
    case = queries.case_by_id(session, case_id)
    if case is None:
        raise NotFound(f"no case with id {case_id}")
    return case


def case_for(session: Session, case_id: int, who: Principal) -> Case:
    """The case, if ``who`` may see it: supervisors see every case, investigators only the cases they are members
    of. A secret case a non-member asks for is answered as if it did not exist."""
    case = get_case(session, case_id)
    if who.role == Role.supervisor:
        return case
    if who.holder is not None and queries.is_member(session, case_id, who.holder):
        return case
    if case.secrecy == "secret":
        raise NotFound(f"no case with id {case_id}")
    raise Forbidden(f"you are not a member of case {case_id}; a member or a supervisor can add you")


def add_member(session: Session, case_id: int, holder: str, who: Principal) -> CaseMember:
    """A member (or a supervisor) adds an investigator, named by the holder of their key."""
    case_for(session, case_id, who)
    person = check_holder(holder)
    if not queries.holds_live_key(session, person, Role.investigator.value):
        raise NotFound(f"{person!r} holds no live investigator key")
    if queries.is_member(session, case_id, person):
        raise Conflict(f"{person!r} is already a member of case {case_id}")
    row = CaseMember(case_id=case_id, person=person, added_by=who.holder or who.ref, added_at=_now())
    add_unique(session, row, f"{person!r} is already a member of case {case_id}")
    record(
        session,
        who.actor,
        action="case.member_add",
        entity_type="case",
        entity_id=str(case_id),
        after={"person": person},
    )
    session.commit()
    return row


def add_listings(session: Session, case: Case, items: list[CheckedListing], who: Principal) -> list[int]:
    """Insert pending listings (no commit) and return their ids. Refuses the whole set if any is already open in
    this case.

    One multi-row Core insert with RETURNING, not an ORM object per row: a 100,000-row CSV spent most of its time
    in model constructors."""
    now = _now()
    dupes = queries.open_listings_in_case(session, case.id or 0, [(i.family, i.address, i.category) for i in items])
    if dupes:
        shown = sorted(f"{a} ({c})" for _, a, c in dupes)[:20]
        raise Conflict(
            f"{len(dupes)} address(es) are already pending or active in this case under the same category",
            details={"duplicates": shown},
        )
    rows: list[dict[str, Any]] = [
        {
            "case_id": case.id,
            "chain": i.chain,
            "family": i.family,
            "address": i.address,
            "category": i.category,
            "confidence": i.confidence,
            "source": "fiu",
            "external_ref": None,
            "legal_basis": i.legal_basis,
            "evidence_note": i.evidence_note,
            "status": ListingStatus.pending.value,
            "submitted_by": who.ref,
            "submitted_holder": who.holder,
            "approved_by": None,
            "decided_holder": None,
            "decision_reason": None,
            "created_at": now,
            "decided_at": None,
            "listed_since": None,
            "valid_until": i.valid_until,
        }
        for i in items
    ]
    if not rows:
        return []
    try:
        with session.begin_nested():
            result = session.connection().execute(
                insert(Listing).returning(col(Listing.id), sort_by_parameter_order=True), rows
            )
            ids = [int(i or 0) for i in result.scalars()]
    except IntegrityError:
        # Another submission of the same address won the race: the partial unique index decided.
        raise Conflict("an address in this submission is already pending or active in this case") from None
    record_many(
        session,
        who.actor,
        [
            Change(
                action="listing.submit",
                entity_type="listing",
                entity_id=str(lid),
                after=_public_dict({**row, "id": lid}),
            )
            for lid, row in zip(ids, rows, strict=True)
        ],
    )
    return ids


def _public_dict(row: dict[str, Any]) -> dict[str, Any]:
    return ListingPublic.model_validate(row).model_dump(mode="json", exclude=ListingPublic.name_fields())


def submit_listing(session: Session, case_id: int, data: ListingCreate, who: Principal) -> Listing:
    case = case_for(session, case_id, who)
    checked = check_listing(data, _now())
    [lid] = add_listings(session, case, [checked], who)
    session.commit()
    row = session.get(Listing, lid)
    assert row is not None
    return row


def _decide(session: Session, listing_id: int) -> Listing:
    listing = queries.listing_for_update(session, listing_id)
    if listing is None:
        raise NotFound(f"no listing with id {listing_id}")
    return listing


def _transition(session: Session, listing: Listing, frm: str, what: str, **values: Any) -> None:
    """Move the listing from ``frm`` with a conditional UPDATE: of concurrent decisions exactly one changes the
    row; the others find it no longer ``frm`` and get 409, on SQLite and PostgreSQL alike."""
    changed = transition(session, Listing, [col(Listing.id) == listing.id, col(Listing.status) == frm], values)
    session.refresh(listing)
    if not changed:
        raise Conflict(f"listing {listing.id} is {listing.status}; only a {frm} listing can be {what}")


def _check_four_eyes(listing: Listing, who: Principal, what: str) -> str:
    if listing.submitted_by == who.ref:
        raise FourEyesViolation(f"four eyes: the key that submitted listing {listing.id} cannot decide on it")
    return require_second_person(listing.submitted_holder, who.holder, what)


def approve(session: Session, listing_id: int, who: Principal, note: str | None) -> tuple[Listing, int]:
    listing = _decide(session, listing_id)
    if listing.status != ListingStatus.pending.value:
        raise Conflict(f"listing {listing_id} is {listing.status}; only a pending listing can be approved")
    person = _check_four_eyes(listing, who, "approving a listing")
    now = _now()
    if listing.valid_until is not None and listing.valid_until <= now:
        raise Conflict(f"listing {listing_id} expired before it was approved; submit it again with a new expiry")
    before = listing_dict(listing)
    _transition(
        session,
        listing,
        ListingStatus.pending.value,
        "approved",
        status=ListingStatus.active.value,
        approved_by=who.ref,
        decided_holder=person,
        decided_at=now,
        listed_since=now,
        decision_reason=note,
    )
    record(
        session,
        who.actor,
        action="listing.approve",
        entity_type="listing",
        entity_id=str(listing.id),
        before=before,
        after=listing_dict(listing),
    )
    version = state.bump(session, state.REGISTRY)
    session.commit()
    return listing, version


def reject(session: Session, listing_id: int, who: Principal, reason: str) -> Listing:
    listing = _decide(session, listing_id)
    if listing.status != ListingStatus.pending.value:
        raise Conflict(f"listing {listing_id} is {listing.status}; only a pending listing can be rejected")
    person = _check_four_eyes(listing, who, "rejecting a listing")
    before = listing_dict(listing)
    _transition(
        session,
        listing,
        ListingStatus.pending.value,
        "rejected",
        status=ListingStatus.rejected.value,
        approved_by=who.ref,
        decided_holder=person,
        decided_at=_now(),
        decision_reason=reason,
    )
    record(
        session,
        who.actor,
        action="listing.reject",
        entity_type="listing",
        entity_id=str(listing.id),
        before=before,
        after=listing_dict(listing),
    )
    session.commit()
    return listing


DELIST = "listing.delist"


def request_delist(session: Session, listing_id: int, who: Principal, reason: str) -> DecisionRequest:
    """Delisting changes what banks see, so one person only asks for it; a second person confirms
    (``confirm_delist``). Official-list listings too: otherwise they leave with the next import that omits them."""
    listing = _decide(session, listing_id)
    if listing.status != ListingStatus.active.value:
        raise Conflict(f"listing {listing_id} is {listing.status}; only an active listing can be delisted")
    req = decisions.open_request(session, DELIST, str(listing_id), reason, who, {"listing_id": listing_id})
    session.commit()
    return req


def confirm_delist(
    session: Session, listing_id: int, who: Principal, note: str | None
) -> tuple[Listing, DecisionRequest, int]:
    """The second person confirms the pending delisting: the request and the listing change in one transaction."""
    pending = decisions.pending_for(session, DELIST, str(listing_id))
    if pending is None or pending.id is None:
        raise Conflict(f"no delisting of listing {listing_id} is pending; ask for one with POST …/delist first")
    req = decisions.confirm(session, pending.id, who, note)
    listing = _decide(session, listing_id)
    before = listing_dict(listing)
    _transition(
        session,
        listing,
        ListingStatus.active.value,
        "delisted",
        status=ListingStatus.delisted.value,
        decided_holder=req.decided_holder,
        decided_at=_now(),
        decision_reason=f"{req.reason} (asked by {req.requested_holder}, confirmed by {req.decided_holder})"[:1000],
    )
    record(
        session,
        who.actor,
        action="listing.delist",
        entity_type="listing",
        entity_id=str(listing.id),
        before=before,
        after=listing_dict(listing),
    )
    version = state.bump(session, state.REGISTRY)
    session.commit()
    return listing, req, version


EXPIRY_ACTOR = Actor(kind="system", id="expiry", org="registry", role="system")


def expire_due(session: Session) -> int:
    """Mark listings past ``valid_until`` as expired. Screening already ignores them from that instant; this
    makes the status say so and leaves an audit trail."""
    now = _now()
    rows = queries.due_for_expiry(session, now)
    for listing in rows:
        before = listing_dict(listing)
        listing.status = ListingStatus.expired.value
        listing.decided_at = now
        listing.decision_reason = "valid_until passed"
        session.add(listing)
        session.flush()
        record(
            session,
            EXPIRY_ACTOR,
            action="listing.expire",
            entity_type="listing",
            entity_id=str(listing.id),
            before=before,
            after=listing_dict(listing),
        )
    if rows:
        state.bump(session, state.REGISTRY)
    session.commit()
    return len(rows)


def import_csv(session: Session, case_id: int, data: bytes | ParsedCsv, who: Principal, max_rows: int) -> list[int]:
    """All or nothing: any bad row refuses the whole file. The 422 lists the first ``MAX_ERRORS`` bad rows and
    counts them all (``details.total``, ``details.truncated``); more than ``max_rows`` rows is a 413.

    ``data`` is the file, or the file already parsed as it arrived (the HTTP route streams it).
    """
    case = case_for(session, case_id, who)
    parsed = data if isinstance(data, ParsedCsv) else parse_chunks([data], _now(), max_rows)
    if parsed.over_limit_line is not None:
        raise PayloadTooLarge(
            f"the CSV has more than {parsed.max_rows} rows (REGISTRY_MAX_CSV_ROWS; line {parsed.over_limit_line} "
            "is past it): split the file; nothing was imported",
            details={"max_rows": parsed.max_rows, "line": parsed.over_limit_line},
        )
    if parsed.total_errors:
        listed = f"; the first {len(parsed.errors)} are listed" if parsed.truncated else ""
        raise InvalidInput(
            f"{parsed.total_errors} problem(s) in the CSV; nothing was imported{listed}",
            details={
                "errors": [e.model_dump() for e in parsed.errors],
                "total": parsed.total_errors,
                "truncated": parsed.truncated,
            },
            code="invalid_csv",
        )
    ids = add_listings(session, case, parsed.checked, who)
    session.commit()
    return ids

"""Cases and listings: submission, four-eyes decisions, expiry.

Every change writes its audit event in the same transaction and commits before the HTTP response is sent, so an
investigator who got a 2xx knows the change is durable. Changes that alter what a bank sees also bump the
``registry`` counter in that transaction, which is what makes every worker reload its screening snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from chains.addresses import AddressError, chain_family, normalize
from registry.audit.service import Actor, record, record_many
from registry.auth.service import Principal
from registry.cases import queries
from registry.cases.models import CaseCreate, ListingCreate, ListingPublic
from registry.cases.tables import Case, Listing, ListingStatus
from registry.db import state
from registry.errors import Conflict, Forbidden, InvalidAddress, InvalidInput, NotFound
from registry.taxonomy.categories import CATEGORIES


def _now() -> datetime:
    return datetime.now(UTC)


def listing_dict(listing: Listing) -> dict[str, Any]:
    return ListingPublic.model_validate(listing, from_attributes=True).model_dump(mode="json")


def create_case(session: Session, data: CaseCreate, who: Principal) -> Case:
    if queries.case_by_number(session, data.number) is not None:
        raise Conflict(f"case {data.number!r} already exists")
    case = Case(
        number=data.number,
        title=data.title,
        secrecy=data.secrecy,
        created_by=who.key_id,
        created_org=who.org,
        created_at=_now(),
    )
    session.add(case)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"case {data.number!r} already exists") from None
    record(session, who.actor, "case.create", "case", str(case.id), None, data.model_dump(mode="json"))
    session.commit()
    return case


def get_case(session: Session, case_id: int) -> Case:
    case = queries.case_by_id(session, case_id)
    if case is None:
        raise NotFound(f"no case with id {case_id}")
    return case


@dataclass(frozen=True)
class CheckedListing:
    chain: str
    family: str
    address: str
    category: str
    confidence: int
    legal_basis: str
    evidence_note: str
    valid_until: datetime | None


def check_listing(data: ListingCreate, now: datetime) -> CheckedListing:
    """Validate one submission; raises InvalidInput naming the field and the reason."""
    try:
        norm = normalize(data.address, data.chain)
    except AddressError as e:
        raise InvalidAddress(e.message, details={"field": "address", "reason": e.reason}) from None
    if data.category not in CATEGORIES:
        raise InvalidInput(f"unknown category {data.category!r}; see GET /v1/categories", details={"field": "category"})
    until = data.valid_until
    if until is not None:
        if until.tzinfo is None:
            raise InvalidInput(
                "valid_until needs a time zone (e.g. 2027-01-01T00:00:00Z)", details={"field": "valid_until"}
            )
        if until <= now:
            raise InvalidInput("valid_until is in the past", details={"field": "valid_until"})
    return CheckedListing(
        chain=norm.chain,
        family=chain_family(norm.chain),
        address=norm.address,
        category=data.category,
        confidence=data.confidence,
        legal_basis=data.legal_basis,
        evidence_note=data.evidence_note,
        valid_until=until,
    )


def add_listings(session: Session, case: Case, items: list[CheckedListing], who: Principal) -> list[Listing]:
    """Insert pending listings (no commit). Refuses the whole set if any is already open in this case."""
    now = _now()
    dupes = queries.open_listings_in_case(session, case.id or 0, [(i.family, i.address, i.category) for i in items])
    if dupes:
        shown = sorted(f"{a} ({c})" for _, a, c in dupes)[:20]
        raise Conflict(
            f"{len(dupes)} address(es) are already pending or active in this case under the same category",
            details={"duplicates": shown},
        )
    rows = [
        Listing(
            case_id=case.id,
            chain=i.chain,
            family=i.family,
            address=i.address,
            category=i.category,
            confidence=i.confidence,
            source="fiu",
            legal_basis=i.legal_basis,
            evidence_note=i.evidence_note,
            status=ListingStatus.pending.value,
            submitted_by=str(who.key_id),
            created_at=now,
            valid_until=i.valid_until,
        )
        for i in items
    ]
    session.add_all(rows)
    session.flush()
    record_many(session, who.actor, [("listing.submit", "listing", str(r.id), None, listing_dict(r)) for r in rows])
    return rows


def submit_listing(session: Session, case_id: int, data: ListingCreate, who: Principal) -> Listing:
    case = get_case(session, case_id)
    checked = check_listing(data, _now())
    [row] = add_listings(session, case, [checked], who)
    session.commit()
    return row


def _decide(session: Session, listing_id: int) -> Listing:
    listing = queries.listing_for_update(session, listing_id)
    if listing is None:
        raise NotFound(f"no listing with id {listing_id}")
    return listing


def approve(session: Session, listing_id: int, who: Principal, note: str | None) -> tuple[Listing, int]:
    listing = _decide(session, listing_id)
    if listing.status != ListingStatus.pending.value:
        raise Conflict(f"listing {listing_id} is {listing.status}; only a pending listing can be approved")
    if listing.submitted_by == str(who.key_id):
        raise Forbidden("four eyes: the submitter cannot approve their own listing")
    submitter = queries.holder_of_key(session, listing.submitted_by)
    if submitter is not None and who.holder is not None and submitter == who.holder:
        raise Forbidden("four eyes: the submitter cannot approve their own listing, even with another key")
    now = _now()
    if listing.valid_until is not None and listing.valid_until <= now:
        raise Conflict(f"listing {listing_id} expired before it was approved; submit it again with a new expiry")
    before = listing_dict(listing)
    listing.status = ListingStatus.active.value
    listing.approved_by = str(who.key_id)
    listing.decided_at = now
    listing.listed_since = now
    listing.decision_reason = note
    session.add(listing)
    session.flush()
    record(session, who.actor, "listing.approve", "listing", str(listing.id), before, listing_dict(listing))
    version = state.bump(session, state.REGISTRY)
    session.commit()
    return listing, version


def reject(session: Session, listing_id: int, who: Principal, reason: str) -> Listing:
    listing = _decide(session, listing_id)
    if listing.status != ListingStatus.pending.value:
        raise Conflict(f"listing {listing_id} is {listing.status}; only a pending listing can be rejected")
    before = listing_dict(listing)
    listing.status = ListingStatus.rejected.value
    listing.approved_by = str(who.key_id)
    listing.decided_at = _now()
    listing.decision_reason = reason
    session.add(listing)
    session.flush()
    record(session, who.actor, "listing.reject", "listing", str(listing.id), before, listing_dict(listing))
    session.commit()
    return listing


def delist(session: Session, listing_id: int, who: Principal | Actor, reason: str) -> tuple[Listing, int]:
    listing = _decide(session, listing_id)
    if listing.status != ListingStatus.active.value:
        raise Conflict(f"listing {listing_id} is {listing.status}; only an active listing can be delisted")
    actor = who.actor if isinstance(who, Principal) else who
    before = listing_dict(listing)
    listing.status = ListingStatus.delisted.value
    listing.decided_at = _now()
    listing.decision_reason = reason
    session.add(listing)
    session.flush()
    record(session, actor, "listing.delist", "listing", str(listing.id), before, listing_dict(listing))
    version = state.bump(session, state.REGISTRY)
    session.commit()
    return listing, version


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
        record(session, EXPIRY_ACTOR, "listing.expire", "listing", str(listing.id), before, listing_dict(listing))
    if rows:
        state.bump(session, state.REGISTRY)
    session.commit()
    return len(rows)


def import_csv(session: Session, case_id: int, data: bytes, who: Principal, max_rows: int) -> list[Listing]:
    """All or nothing: any bad row refuses the whole file, and the 422 lists every bad row."""
    from registry.cases.csv_import import parse_listings_csv

    case = get_case(session, case_id)
    checked, errors = parse_listings_csv(data, _now(), max_rows)
    if errors:
        raise InvalidInput(
            f"{len(errors)} problem(s) in the CSV; nothing was imported",
            details={"errors": [e.model_dump() for e in errors]},
            code="invalid_csv",
        )
    rows = add_listings(session, case, checked, who)
    session.commit()
    return rows

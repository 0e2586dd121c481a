"""SQL for cases and listings, in one place."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from registry.auth.tables import ApiKey
from registry.cases.tables import Case, CaseMember, Listing, ListingStatus

OPEN_STATUSES = (ListingStatus.pending.value, ListingStatus.active.value)


def case_by_id(session: Session, case_id: int) -> Case | None:
    return session.get(Case, case_id)


def case_by_number(session: Session, number: str) -> Case | None:
    return session.exec(select(Case).where(Case.number == number)).first()


def listings_of_case(session: Session, case_id: int) -> list[Listing]:
    return list(session.exec(select(Listing).where(Listing.case_id == case_id).order_by(col(Listing.id))).all())


def listing_for_update(session: Session, listing_id: int) -> Listing | None:
    q = select(Listing).where(Listing.id == listing_id)
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update().execution_options(populate_existing=True)
    return session.exec(q).first()


def open_listings_in_case(
    session: Session, case_id: int, keys: Iterable[tuple[str, str, str]], chunk: int = 500
) -> set[tuple[str, str, str]]:
    """Which (family, address, category) are already pending or active in this case: one query per chunk."""
    wanted = list(set(keys))
    found: set[tuple[str, str, str]] = set()
    for i in range(0, len(wanted), chunk):
        part = wanted[i : i + chunk]
        addresses = {a for _, a, _ in part}
        rows = session.exec(
            select(Listing.family, Listing.address, Listing.category).where(
                Listing.case_id == case_id,
                col(Listing.status).in_(OPEN_STATUSES),
                col(Listing.address).in_(addresses),
            )
        ).all()
        found.update((f, a, c) for f, a, c in rows if (f, a, c) in set(part))
    return found


def is_member(session: Session, case_id: int, person: str) -> bool:
    q = select(CaseMember.id).where(CaseMember.case_id == case_id, CaseMember.person == person)
    return session.exec(q).first() is not None


def members_of(session: Session, case_id: int) -> list[CaseMember]:
    q = select(CaseMember).where(CaseMember.case_id == case_id).order_by(col(CaseMember.id))
    return list(session.exec(q).all())


def member_case_ids(session: Session, person: str) -> set[int]:
    return set(session.exec(select(CaseMember.case_id).where(CaseMember.person == person)).all())


def holds_live_key(session: Session, person: str, role: str) -> bool:
    q = select(ApiKey.id).where(ApiKey.holder == person, ApiKey.role == role, col(ApiKey.revoked_at).is_(None))
    return session.exec(q).first() is not None


def list_cases(session: Session, member: str | None, search: str | None, after_id: int, limit: int) -> list[Case]:
    """Cases oldest first, paged by id; ``member`` limits them to that person's cases (an investigator's view)."""
    q = select(Case).where(col(Case.id) > after_id)
    if member is not None:
        q = q.where(col(Case.id).in_(select(CaseMember.case_id).where(CaseMember.person == member)))
    if search:
        like = f"%{search.lower()}%"
        q = q.where(or_(func.lower(Case.number).like(like), func.lower(Case.title).like(like)))
    return list(session.exec(q.order_by(col(Case.id)).limit(limit)).all())


def due_for_expiry(session: Session, now: datetime) -> list[Listing]:
    return list(
        session.exec(
            select(Listing).where(
                Listing.status == ListingStatus.active.value,
                col(Listing.valid_until).is_not(None),
                col(Listing.valid_until) <= now,
            )
        ).all()
    )


def pending_listings(session: Session, limit: int, after_id: int) -> list[Listing]:
    return list(
        session.exec(
            select(Listing)
            .where(Listing.status == ListingStatus.pending.value, Listing.id > after_id)  # type: ignore[operator]
            .order_by(col(Listing.id))
            .limit(limit)
        ).all()
    )

"""The SQL of evidence packs: who submitted and who decided each listing shown (persons, not keys)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from registry.cases.tables import Listing


@dataclass(frozen=True, slots=True)
class ListingPeople:
    submitted_by: str | None  # the person (normalised holder); None: a system (an official-list import)
    submitted_at: datetime | None
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    evidence_note: str


def listing_people(session: Session, ids: Sequence[int]) -> dict[int, ListingPeople]:
    """One query for every listing of the pack."""
    if not ids:
        return {}
    rows = session.exec(select(Listing).where(col(Listing.id).in_(list(ids)))).all()
    return {
        r.id: ListingPeople(
            r.submitted_holder, r.created_at, r.decided_holder, r.decided_at, r.decision_reason, r.evidence_note or ""
        )
        for r in rows
        if r.id is not None
    }

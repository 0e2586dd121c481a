"""Checking one listing submission: the address normalised for its chain, a known category, a sane expiry.

Both the single submission (``service.submit_listing``) and every row of a CSV (``csv_import``) go through
``check_listing``, so a file and the API accept exactly the same listings. It has no database and no session.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chains.addresses import AddressError, chain_family, normalize
from registry.cases.models import ListingCreate
from registry.errors import InvalidAddress, InvalidInput
from registry.taxonomy.categories import CATEGORIES


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

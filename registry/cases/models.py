"""API models for cases and listings (the ``XCreate`` / ``XPublic`` side of the model families).

Only investigators and supervisors see these; the bank's view of a listing is ``screening.models.DirectHit``,
which has no field for case data at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from registry.auth.models import Named
from registry.types import AddressStr, ChainStr, HolderStr, OptionalReasonStr, ReasonStr


class CaseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    number: str = Field(min_length=1, max_length=64, description="the case number in the case management system")
    title: str = Field(min_length=1, max_length=300)
    secrecy: Literal["restricted", "confidential", "secret"] = "restricted"


class ListingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    address: AddressStr
    chain: ChainStr | None = Field(None, description="btc, tron, eth, bsc, …; omitted: detected")
    category: str = Field(min_length=1, max_length=32, description="see GET /v1/categories")
    confidence: int = Field(ge=1, le=100, description="100 court decision … 10 heuristic")
    legal_basis: str = Field(min_length=1, max_length=500)
    evidence_note: str = Field("", max_length=5000)
    valid_until: datetime | None = Field(None, description="the listing stops counting after this instant")


class ListingPublic(Named):
    """The investigator's view: everything, case reference and evidence included."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    case_id: int | None
    chain: str
    address: str
    category: str
    confidence: int
    source: str
    external_ref: str | None
    legal_basis: str
    evidence_note: str
    status: str
    submitted_by: str
    submitted_holder: str | None = Field(
        description="the person who submitted it, normalised (compare this one); null for an official list"
    )
    submitted_holder_name: str | None = Field(
        None, description="the same person's name as written (case kept), to show people; null for an official list"
    )
    approved_by: str | None
    decided_holder: str | None = Field(
        description="the second person, who approved, rejected or delisted it, normalised (compare this one)"
    )
    decided_holder_name: str | None = Field(None, description="the second person's name as written, to show people")
    decision_reason: str | None
    created_at: datetime
    decided_at: datetime | None
    listed_since: datetime | None
    valid_until: datetime | None

    PERSONS: ClassVar[Mapping[str, str]] = {
        "submitted_holder": "submitted_holder_name",
        "decided_holder": "decided_holder_name",
    }


class CasePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    number: str
    title: str
    secrecy: str
    created_org: str
    created_at: datetime


class CaseMemberPublic(Named):
    model_config = ConfigDict(from_attributes=True)
    person: str = Field(description="the investigator, normalised (compare this one)")
    person_name: str | None = Field(None, description="the investigator's name as written (case kept), to show people")
    added_by: str
    added_at: datetime

    PERSONS: ClassVar[Mapping[str, str]] = {"person": "person_name"}


class CaseMemberAdd(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    holder: HolderStr = Field(description="the investigator, as their key names them")


class CaseWithListings(CasePublic):
    members: list[CaseMemberPublic]
    listings: list[ListingPublic]


class ListingReason(BaseModel):
    """Rejecting a listing or asking to delist it: the reason is required (approving: optional)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: ReasonStr = Field(description="why; kept in the audit log")


class ListingApproval(BaseModel):
    """Approving a listing (the body may be omitted): an optional reason, like approving a domain."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: OptionalReasonStr = Field(None, description="optional; kept in the audit log")
    note: OptionalReasonStr = Field(
        None,
        description="the former name of reason, still accepted",
        json_schema_extra={"deprecated": True},
    )

    @property
    def text(self) -> str | None:
        return self.reason or self.note


class RowError(BaseModel):
    line: int
    column: str | None
    value: str | None
    reason: str


class ImportResult(BaseModel):
    case_id: int
    created: int
    listing_ids: list[int]

"""Response models of the address view. The bank's models have no field for case data or for the addresses
along a path: what a bank may see is fixed by the type, not by a filter someone can forget."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from registry.screening.models import Designation, Explanation, RedFlag


class TxRef(BaseModel):
    network: str
    tx_id: str
    idx: int
    asset: str
    amount: str
    block_time: str


class HopPublic(BaseModel):
    from_address: str
    to_address: str
    share: float  # share of the receiver's incoming (or the sender's outgoing) value carried by this hop
    transactions: list[TxRef]


class PathPublic(BaseModel):
    share: float  # this path's contribution to the exposure: the product of the hop shares
    hops: list[HopPublic]


class ExposureWithPaths(BaseModel):
    category: str
    share: float
    min_hops: int
    paths: list[PathPublic]


class ExposuresPublic(BaseModel):
    incoming: list[ExposureWithPaths]
    outgoing: list[ExposureWithPaths]


class ListingRef(BaseModel):
    id: int
    chain: str
    category: str
    confidence: int
    source: str
    status: str
    legal_basis: str
    listed_since: datetime | None
    valid_until: datetime | None
    case_id: int | None
    case_number: str | None
    case_title: str | None
    restricted: bool = Field(
        False, description="the listing belongs to a case you are not a member of: its case data is withheld"
    )


class DirectHitPublic(BaseModel):
    """One direct listing as screening results show it (``registry.screening.models.DirectHit``), designation
    included: the investigator reads what the bank was told."""

    category: str
    source: str
    confidence: int
    listed_since: str
    designation: Designation | None = Field(
        None,
        description="official-list hits only (null on the agency's own): the designation behind the listing, or "
        "null when the list named nobody (OFAC's per-asset address files)",
    )


class AddressView(BaseModel):
    """The investigator's view: listings with their cases, exposure and the paths that explain it."""

    address: str
    chain: str
    family: str
    risk_score: int
    risk_level: str
    action: str
    direct: list[DirectHitPublic]
    listings: list[ListingRef]
    exposure: ExposuresPublic
    red_flags: list[RedFlag] = Field(
        default_factory=list, description="behavioural typologies matched, with the indicator values (review only)"
    )
    policy_version: str
    registry_version: str
    explanation: Explanation | None = Field(None, description="only with ?explain=true: the rule behind the level")
    explanation_text: str | None = Field(None, description="only with ?explain=true: the explanation in words")


class PathForBank(BaseModel):
    share: float
    hop_shares: list[float]


class ExposureForBank(BaseModel):
    category: str
    share: float
    min_hops: int
    paths: list[PathForBank]


class ExposuresForBank(BaseModel):
    incoming: list[ExposureForBank]
    outgoing: list[ExposureForBank]


class AddressForBank(BaseModel):
    """The bank's explanation: categories, hops and shares; no case, no investigator, no path addresses."""

    address: str
    chain: str
    risk_score: int
    risk_level: str
    action: str
    direct: list[DirectHitPublic]
    exposure: ExposuresForBank
    red_flags: list[RedFlag] = Field(
        default_factory=list, description="behavioural typologies matched, with the indicator values (review only)"
    )
    policy_version: str
    registry_version: str
    explanation: Explanation | None = Field(None, description="only with ?explain=true: the rule behind the level")
    explanation_text: str | None = Field(None, description="only with ?explain=true: the explanation in words")

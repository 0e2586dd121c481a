"""The screening contract banks code against. Fields may be added, never renamed (DESIGN.md).

The bank's view of a listing (``DirectHit``) has no field for a case number, evidence or the person who listed
it: compartmentalisation is enforced by the type, not by a filter someone could forget.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ScreenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    address: str = Field(max_length=128, examples=["0x8589427373d6d84e98730d7795d8f6f8731fda16"])
    chain: str | None = Field(None, max_length=16, description="btc, tron, eth, bsc, …; omitted: detected")


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    addresses: list[str | ScreenRequest] = Field(
        description="up to REGISTRY_MAX_BATCH (10,000) addresses: strings, or {address, chain} objects"
    )


class Designation(BaseModel):
    name: str | None = Field(description="the SDN entry's primary name", examples=["TORNADO CASH"])
    programs: list[str] = Field(description="the sanctions programmes it is designated under", examples=[["CYBER2"]])
    designated_on: str | None = Field(description="the date OFAC designated it (YYYY-MM-DD)", examples=["2022-08-08"])
    sdn_id: str | None = Field(description="OFAC's identifier of the SDN entry", examples=["36216"])


class DirectHit(BaseModel):
    category: str
    source: str = Field(description="ofac for official sanctions, fiu for the agency's own listings")
    confidence: int
    listed_since: str = Field(description="when the registry listed it (for an official list: our import)")
    designation: Designation | None = Field(
        None,
        description="official-list hits only (absent on the agency's own): the designation behind the listing, or "
        "null when the list named nobody (OFAC's per-asset address files)",
    )


class ExposureItem(BaseModel):
    category: str
    share: float = Field(ge=0, le=1)
    min_hops: int = Field(ge=1)


class Exposure(BaseModel):
    incoming: list[ExposureItem] = Field(description="source of funds: share of what the address received")
    outgoing: list[ExposureItem] = Field(description="destination of funds: share of what it sent")


class ExplanationReason(BaseModel):
    """One finding behind the rule: a direct listing, or one exposure with the threshold it crossed."""

    kind: Literal["direct", "exposure", "typology"] = Field(
        description="typology: a behavioural typology matched (its name in category; see red_flags)"
    )
    category: str
    direction: Literal["incoming", "outgoing"] | None = Field(description="exposure only")
    share: float | None = Field(description="exposure only: share of the value received (incoming) or sent")
    min_hops: int | None = Field(description="exposure only: the fewest hops to a listed address")
    threshold: float | None = Field(
        description="the share from which the rule applies (review or block share); null for direct listings and "
        "for exposure below the review share"
    )


class Explanation(BaseModel):
    """Which rule of the policy produced the level and the action (``?explain=true``). No case data in it."""

    rule: Literal["none", "direct.listing", "exposure.block", "exposure.review", "exposure.score", "behaviour.review"]
    level: str
    action: str
    text: str = Field(description="the same in one English sentence, naming the rule and the categories")
    because: list[ExplanationReason]


class RedFlagIndicator(BaseModel):
    """One indicator behind a red flag: its value for this address, the typology's threshold and where the value
    sits among all addresses."""

    name: str = Field(description="indicator, e.g. dwell_hours, pass_through (GET /v1/typologies describes each)")
    value: float
    op: Literal[">=", "<="] = Field(description="how the value is compared with the threshold")
    threshold: float
    percentile: float | None = Field(description="percentile rank of the value among all addresses (0-100)")


class RedFlag(BaseModel):
    """A behavioural typology the address matched at the last rescoring. Behaviour alone reviews, never blocks."""

    typology: str = Field(description="name in the catalogue (GET /v1/typologies), e.g. mop_passthrough")
    version: int = Field(description="the typology's version that matched")
    title: str
    indicators: list[RedFlagIndicator] = Field(description="the indicator values that matched it")


class ScreeningResult(BaseModel):
    address: str
    chain: str
    risk_score: int = Field(ge=0, le=100)
    risk_level: Literal["low", "medium", "high", "severe"]
    action: Literal["allow", "review", "block"]
    direct: list[DirectHit]
    exposure: Exposure
    red_flags: list[RedFlag] = Field(
        description="behavioural typologies matched (mop pass-through, cash-out, peel chain, structuring) with their "
        "indicator values; [] when none. They raise the action to review at most, never to block"
    )
    explanation: Explanation | None = Field(None, description="only with ?explain=true (absent otherwise)")
    policy_version: str
    registry_version: str
    screened_at: str


class ItemError(BaseModel):
    """The shape of every error (``code``, ``message``, ``details``), for one item of a batch."""

    code: str
    message: str
    details: dict[str, Any] = Field(description="always an object; details.reason says why (checksum, chain, …)")
    reason: str = Field(description="the same as details.reason, kept for clients written before details existed")


class BatchItemError(BaseModel):
    index: int
    address: Any
    chain: Any = None
    error: ItemError


class BatchResponse(BaseModel):
    count: int
    registry_version: str
    results: list[ScreeningResult | BatchItemError]

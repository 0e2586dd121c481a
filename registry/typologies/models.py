"""Response models of the typologies feature: the catalogue (any role) and a case's candidates (investigators who
are members of the case, supervisors). The red flags in screening results are ``registry.screening.models.RedFlag``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from registry.screening.models import RedFlag


class TypologyCondition(BaseModel):
    indicator: str
    op: Literal[">=", "<="]
    threshold: float


class TypologyIndicator(BaseModel):
    name: str
    title: dict[str, str] = Field(description="what it measures, per language (ru, en)")


class TypologyPublic(BaseModel):
    name: str = Field(examples=["mop_passthrough"])
    version: int
    title: dict[str, str] = Field(description="per language (ru, en)")
    description: dict[str, str] = Field(description="the pattern in plain words, per language (ru, en)")
    all_of: list[TypologyCondition] = Field(description="every one of these must hold")
    any_of: list[TypologyCondition] = Field(description="and at least one of these, when there are any")
    fiat_red_flags: dict[str, list[str]] = Field(
        description="what a bank should look for in the same customer's fiat transactions, per language (ru, en)"
    )


class TypologyCatalogue(BaseModel):
    version: str = Field(description="version of the catalogue as a whole")
    action: Literal["review"] = Field(
        "review", description="what a match leads to: behaviour alone reviews, never blocks"
    )
    thresholds: dict[str, float] = Field(
        description="the reporting thresholds structuring is measured against, in the reference value (USD)"
    )
    near_band: float = Field(description="a transfer is near a threshold when at most this fraction below it")
    min_transfers: int = Field(description="addresses with fewer transfers are not matched")
    indicators: list[TypologyIndicator]
    typologies: list[TypologyPublic]
    documents: dict[str, str] = Field(description="the same catalogue as a document banks read: format/lang -> path")


class TypologyIndicatorValue(BaseModel):
    value: float | None
    percentile: float | None


class CandidateHop(BaseModel):
    from_address: str
    to_address: str
    share: float = Field(description="share of the sender's outflow (forward) or the receiver's inflow (backward)")


class CandidateLink(BaseModel):
    """How money links the candidate to one of the case's addresses."""

    case_address: str
    direction: Literal["forward", "backward"] = Field(
        description="forward: money from the case's address reached the candidate; backward: the candidate's money "
        "reached the case's address"
    )
    hops: int
    share: float = Field(
        description="share of the case address's outflow (forward) or inflow (backward) that the flow carries, by the "
        "haircut rule, summed over the paths found"
    )
    path: list[CandidateHop] = Field(description="the strongest path found")


class CandidateAccept(BaseModel):
    """What to send to accept the candidate (the investigations API's submission): a pending money_mule listing
    with confidence heuristic, which a different supervisor still has to approve."""

    method: Literal["POST"] = "POST"
    path: str
    body: dict[str, object]


class Candidate(BaseModel):
    rank: int
    chain: str
    address: str
    score: float = Field(description="what the ranking sorts by: the strongest link's share x the typologies matched")
    typologies: list[str]
    red_flags: list[RedFlag]
    indicators: dict[str, TypologyIndicatorValue] = Field(description="every indicator with its population percentile")
    links: list[CandidateLink]
    accept: CandidateAccept


class CandidateList(BaseModel):
    case_id: int
    hops: int = Field(description="how far from the case's addresses the flow was traced")
    seeds: int = Field(description="the case's addresses traced from (pending and active listings)")
    items: list[Candidate]
    total: int

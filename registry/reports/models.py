"""The statistics document: what ``GET /v1/reports/{period}/statistics`` answers, what every report format renders
and what a stored draft keeps. Counts are integers, reference values floats in ``value_unit``.

Counts per bank (``screenings.by_bank``) are in here because the agency's own report shows them; the CIS export
is built from these figures by ``registry.reports.cis``, which has no field for them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

LISTING_EVENTS = ("added", "approved", "rejected", "delisted", "expired")
FlowDirection = Literal["to_listed", "from_listed"]
Counterparty = Literal["domestic_licensed", "other"]


class PeriodInfo(BaseModel):
    label: str = Field(description="2026H2, or FROM..TO for a range of days")
    kind: Literal["half_year", "range"]
    start: date = Field(description="first day (UTC)")
    end: date = Field(description="last day (UTC), included")
    due: date = Field(description="the 20th day after the period: when the consolidated report is due")


class Breakdown(BaseModel):
    total: int
    by_category: dict[str, int]
    by_chain: dict[str, int]
    by_source: dict[str, int] = Field(description="fiu (the agency's own listings) or ofac (the official list)")
    by_confidence: dict[str, int] = Field(description="confidence level (as text) → count")


class ListingGroup(BaseModel):
    """One cell of the cube the breakdowns are sums of: listings that had ``event`` in the period."""

    event: str
    category: str
    chain: str
    source: str
    confidence: int
    count: int


class ListingFigures(BaseModel):
    added: Breakdown = Field(
        description="submitted by investigators, or added by an official-list import (live at once)"
    )
    approved: Breakdown = Field(description="approved by a supervisor (the agency's listings only)")
    rejected: Breakdown
    delisted: Breakdown = Field(description="delisted by two supervisors, or removed from the official list")
    expired: Breakdown = Field(description="past their valid_until")
    groups: list[ListingGroup]


class BankScreenings(BaseModel):
    org: str = Field(description="the bank (the API key's organisation); only in the agency's report")
    total: int
    by_action: dict[str, int]


class ScreeningFigures(BaseModel):
    total: int
    by_level: dict[str, int]
    by_action: dict[str, int]
    by_level_action: dict[str, dict[str, int]] = Field(description="risk level → action → count")
    by_bank: list[BankScreenings]


class FlowGroup(BaseModel):
    """Transfers in the period between a wallet listed under ``category`` (listed at the transfer's time) and
    another wallet. ``to_listed``: the listed wallet received; ``from_listed``: it sent. ``counterparty``:
    ``domestic_licensed`` when the other wallet is an address of an entity marked a licensed service (licensed
    in Kazakhstan), ``other`` for every other wallet (foreign, or unknown: the registry cannot tell them apart)."""

    category: str
    chain: str
    direction: FlowDirection
    counterparty: Counterparty
    transfers: int
    value: float = Field(description="reference value (value_unit) at the scoring's reference prices")


class Figures(BaseModel):
    listings: ListingFigures
    domains_blocked: int = Field(description="exchanger domains that entered the ISPs' feed (approved)")
    domains_unblocked: int = Field(description="exchanger domains that left it (delisted, or now licensed)")
    licensed_firms_added: int = Field(description="firms whose licence became active in the register")
    licensed_firms_withdrawn: int = Field(description="firms whose licence stopped being active")
    cases_opened: int
    screenings: ScreeningFigures
    alerts_sent: int | None = Field(description="monitoring alerts handed to delivery; null: not available")
    flows: list[FlowGroup]
    typologies: dict[str, int] | None = Field(
        description="typology → addresses flagged in the period; null: not available"
    )


class Statistics(BaseModel):
    period: PeriodInfo
    previous_period: PeriodInfo
    generated_at: datetime
    registry_version: str = Field(description="the registry counter when the figures were read")
    policy_version: str
    value_unit: str = Field(description="unit of every reference value (the scoring's reference prices)")
    notes: list[str] = Field(description="what a reader should know about these figures (a source not available)")
    current: Figures
    previous: Figures
    sha256: str = Field(
        description=(
            "SHA-256 of this document without the sha256 field, serialised as compact JSON with sorted keys "
            "(UTF-8): the same figures in every format and language carry the same hash"
        )
    )


class DraftPublic(BaseModel):
    period: str
    start: date
    end: date
    due: date
    generated_at: datetime
    sha256: str


def timestamp(t: datetime) -> str:
    """``generated_at`` as the hashed document writes it: UTC, microseconds, ``Z``."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def document(stats: Statistics) -> dict[str, Any]:
    """The statistics as the JSON document its ``sha256`` was computed over (``generated_at`` in the same form:
    pydantic would drop zero microseconds)."""
    doc = stats.model_dump(mode="json")
    doc["generated_at"] = timestamp(stats.generated_at)
    return doc

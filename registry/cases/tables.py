"""Storage models. The API models are in ``registry.cases.models``; the bank never sees these."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, Index, SQLModel

from registry.db.types import utc_field


class ListingStatus(StrEnum):
    pending = "pending"
    active = "active"
    rejected = "rejected"
    delisted = "delisted"
    expired = "expired"


class Case(SQLModel, table=True):
    __tablename__ = "cases"
    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=64, unique=True)
    title: str = Field(max_length=300)
    secrecy: str = Field(default="restricted", max_length=16)
    created_by: int = Field(index=True)  # api_key.id of the investigator
    created_org: str = Field(max_length=200)
    created_at: datetime = utc_field()


class Listing(SQLModel, table=True):
    __tablename__ = "listing"
    __table_args__ = (
        Index("ix_listing_address", "family", "address"),
        Index("ix_listing_status", "status"),
        Index("ix_listing_source_ref", "source", "external_ref"),
    )
    id: int | None = Field(default=None, primary_key=True)
    case_id: int | None = Field(default=None, foreign_key="cases.id", index=True)
    chain: str = Field(max_length=16)
    family: str = Field(max_length=16)  # evm for every EVM network: one address space
    address: str = Field(max_length=128)
    category: str = Field(max_length=32)
    confidence: int
    source: str = Field(max_length=16)  # fiu | ofac
    external_ref: str | None = Field(default=None, max_length=64)
    legal_basis: str = Field(max_length=500)
    evidence_note: str = Field(default="", max_length=5000)
    status: str = Field(default=ListingStatus.pending.value, max_length=16)
    submitted_by: str = Field(max_length=64)
    approved_by: str | None = Field(default=None, max_length=64)
    decision_reason: str | None = Field(default=None, max_length=1000)
    created_at: datetime = utc_field()
    decided_at: datetime | None = utc_field(nullable=True)
    listed_since: datetime | None = utc_field(nullable=True)
    valid_until: datetime | None = utc_field(nullable=True)

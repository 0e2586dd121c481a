"""Storage models. The API models are in ``registry.cases.models``; the bank never sees these."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import text
from sqlmodel import Field, Index, SQLModel, UniqueConstraint

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


class CaseMember(SQLModel, table=True):
    """A person working on a case: its creator and the investigators added to it. Investigators see and change
    only the cases they are members of; supervisors see every case."""

    __tablename__ = "case_member"
    __table_args__ = (UniqueConstraint("case_id", "person", name="uq_case_member"),)
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    person: str = Field(max_length=200, index=True)  # normalised holder
    added_by: str = Field(max_length=200)  # the person who added them
    added_at: datetime = utc_field()


class Listing(SQLModel, table=True):
    __tablename__ = "listing"
    __table_args__ = (
        Index("ix_listing_address", "family", "address"),
        Index("ix_listing_status", "status"),
        Index("ix_listing_source_ref", "source", "external_ref"),
        # One open (pending or active) listing per case, address and category, enforced by the database so that
        # concurrent submissions of the same address get one winner and 409s, on SQLite and PostgreSQL alike.
        Index(
            "uq_listing_open_in_case",
            "case_id",
            "family",
            "address",
            "category",
            unique=True,
            sqlite_where=text("status IN ('pending', 'active') AND case_id IS NOT NULL"),
            postgresql_where=text("status IN ('pending', 'active') AND case_id IS NOT NULL"),
        ),
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
    submitted_by: str = Field(max_length=64)  # api_key id, or cli:<person>, or the importing system
    submitted_holder: str | None = Field(default=None, max_length=200)  # the person (normalised); None: a system
    approved_by: str | None = Field(default=None, max_length=64)
    decided_holder: str | None = Field(default=None, max_length=200)
    decision_reason: str | None = Field(default=None, max_length=1000)
    created_at: datetime = utc_field()
    decided_at: datetime | None = utc_field(nullable=True)
    listed_since: datetime | None = utc_field(nullable=True)
    valid_until: datetime | None = utc_field(nullable=True)
    # The official designation behind a sanctions listing (OFAC sdn_advanced.xml): the SDN entry's name, its
    # programmes (JSON array of codes, e.g. ["CYBER2"]), the date OFAC designated it and OFAC's id of the entry.
    # Null for the agency's own listings and for lists that name nobody (OFAC's per-asset text files).
    designation_name: str | None = Field(default=None, max_length=500)
    designation_programs: str | None = Field(default=None, max_length=1000)
    designated_on: date | None = Field(default=None)
    designation_ref: str | None = Field(default=None, max_length=64)

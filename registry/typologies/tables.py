"""Storage of behavioural red flags: what the last rescoring found (replaced as a whole each time, like scores) and
the history of who was flagged when (kept, for the period reports)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text, text
from sqlmodel import Field, Index, SQLModel, UniqueConstraint

from registry.db.types import utc_field


class AddressTypology(SQLModel, table=True):
    """The red flags of one flagged address, in the shape the snapshot serves, and every indicator's value.

    ``red_flags`` is the JSON list results carry (typology, version, the indicator values that matched it);
    ``indicators`` the JSON object of every indicator (value and population percentile), the evidence an
    investigator reads. Only matched addresses get a row: a million indicator rows per rescoring would cost more
    than the rescoring.
    """

    __tablename__ = "address_typology"
    __table_args__ = (UniqueConstraint("family", "address", name="uq_address_typology"),)
    id: int | None = Field(default=None, primary_key=True)
    family: str = Field(max_length=16)
    address: str = Field(max_length=128)
    red_flags: str = Field(sa_column=Column(Text, nullable=False))
    indicators: str = Field(sa_column=Column(Text, nullable=False))
    run_id: int


class TypologyMatch(SQLModel, table=True):
    """One row per (address, typology) matched by the last rescoring: what SQL filters and joins on."""

    __tablename__ = "typology_match"
    __table_args__ = (
        UniqueConstraint("family", "address", "typology", name="uq_typology_match"),
        Index("ix_typology_match_typology", "typology"),
    )
    id: int | None = Field(default=None, primary_key=True)
    family: str = Field(max_length=16)
    address: str = Field(max_length=128)
    typology: str = Field(max_length=64)
    version: int


class TypologyObservation(SQLModel, table=True):
    """An address matching a typology without a break, from one rescoring to another: ``first_flagged_at`` is the
    rescoring that first found it, ``last_flagged_at`` the latest that still did; ``is_open`` while it still matches.
    Kept when the address stops matching (a new row opens if it matches again), so a report can count the
    addresses flagged in any past period."""

    __tablename__ = "typology_observation"
    __table_args__ = (
        Index("ix_typology_observation_period", "typology", "first_flagged_at", "last_flagged_at"),
        Index(
            "uq_typology_observation_open",
            "typology",
            "family",
            "address",
            unique=True,
            sqlite_where=text("is_open"),
            postgresql_where=text("is_open"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    typology: str = Field(max_length=64)
    version: int
    family: str = Field(max_length=16)
    address: str = Field(max_length=128)
    first_flagged_at: datetime = utc_field()
    last_flagged_at: datetime = utc_field()
    is_open: bool = Field(default=True)

"""Storage of scores and rescoring runs (the one-at-a-time lease is ``registry.db.lease``, name ``rescore``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel, UniqueConstraint

from registry.db.types import utc_field


class AddressScore(SQLModel, table=True):
    """The precomputed verdict of one exposed address, in the shape the snapshot serves.

    ``exposure`` is the compact JSON ``{"incoming": [...], "outgoing": [...]}``: every worker reloads all rows on
    each registry change, and one text column per address loads several times faster than a row per exposure.
    """

    __tablename__ = "address_score"
    __table_args__ = (UniqueConstraint("family", "address", name="uq_address_score"),)
    id: int | None = Field(default=None, primary_key=True)
    family: str = Field(max_length=16)
    address: str = Field(max_length=128)
    risk_score: int
    risk_level: str = Field(max_length=8)
    action: str = Field(max_length=8)
    exposure: str = Field(sa_column=Column(Text, nullable=False))
    run_id: int


class ScoringRun(SQLModel, table=True):
    """One rescoring: its inputs (counter values it read) tell the job whether the scores are stale."""

    __tablename__ = "scoring_run"
    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime = utc_field()
    finished_at: datetime | None = utc_field(nullable=True)
    status: str = Field(default="running", max_length=16)  # running | done | failed
    trigger: str = Field(default="cli", max_length=32)
    method: str = Field(max_length=16)
    max_hops: int
    policy_version: str = Field(max_length=32)
    transfers: int = 0
    addresses: int = 0
    scored: int = 0
    transfers_counter: int = 0
    registry_counter_in: int = 0
    registry_counter_out: int = 0
    next_expiry: datetime | None = utc_field(nullable=True)
    seconds: float = 0.0
    error: str | None = Field(default=None, max_length=2000)

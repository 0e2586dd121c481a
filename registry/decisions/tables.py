"""Storage of decision requests. One pending request per (kind, target), enforced by a partial unique index."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, text
from sqlmodel import Field, Index, SQLModel

from registry.db.types import utc_field


class RequestStatus(StrEnum):
    pending = "pending"
    confirmed = "confirmed"
    cancelled = "cancelled"


class DecisionRequest(SQLModel, table=True):
    """A decision one person asked for and a second person must confirm before it takes effect."""

    __tablename__ = "decision_request"
    __table_args__ = (
        Index(
            "uq_decision_request_pending",
            "kind",
            "target",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)  # listing.delist | domain.delist | licensed_domain.map
    target: str = Field(max_length=300)  # the listing id, domain entry id, or the domain name
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    reason: str = Field(max_length=1000)
    status: str = Field(default=RequestStatus.pending.value, max_length=16, index=True)
    requested_by: str = Field(max_length=64)  # api_key id, or cli:<person>
    requested_holder: str = Field(max_length=200)  # the normalised person
    requested_at: datetime = utc_field()
    decided_by: str | None = Field(default=None, max_length=64)
    decided_holder: str | None = Field(default=None, max_length=200)
    decided_at: datetime | None = utc_field(nullable=True)
    decision_note: str | None = Field(default=None, max_length=1000)

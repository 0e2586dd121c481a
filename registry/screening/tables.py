from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from registry.db.types import utc_field


class ScreeningLog(SQLModel, table=True):
    """Who screened what and what they were told, written in batches off the request path."""

    __tablename__ = "screening_log"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = utc_field(index=True)
    key_id: int = Field(index=True)
    chain: str = Field(max_length=16)
    address: str = Field(max_length=128)
    risk_score: int
    risk_level: str = Field(max_length=8)
    action: str = Field(max_length=8)
    registry_version: str = Field(max_length=32)

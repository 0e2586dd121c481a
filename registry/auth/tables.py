from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from registry.db.types import utc_field


class Role(StrEnum):
    bank = "bank"
    isp = "isp"
    investigator = "investigator"
    supervisor = "supervisor"
    admin = "admin"


class ApiKey(SQLModel, table=True):
    """A key is stored only as its HMAC; ``prefix`` (the first characters) lets operators tell keys apart."""

    __tablename__ = "api_key"
    id: int | None = Field(default=None, primary_key=True)
    prefix: str = Field(max_length=16, index=True)
    digest: str = Field(max_length=64, unique=True)
    role: str = Field(max_length=16)
    org: str = Field(max_length=200)
    holder: str | None = Field(default=None, max_length=200, index=True)  # the person, normalised, for four eyes
    holder_display: str | None = Field(default=None, max_length=200)  # the name as given, case kept: never compared
    created_at: datetime = utc_field()
    revoked_at: datetime | None = utc_field(nullable=True)


class ApiKeyPublic(SQLModel):
    id: int
    prefix: str
    role: str
    org: str
    holder: str | None
    holder_display: str | None = None
    created_at: datetime
    revoked_at: datetime | None

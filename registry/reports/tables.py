"""Stored report drafts: the statistics of a closed half-year, frozen when the draft job prepared them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlmodel import JSON, Column, Field, SQLModel

from registry.db.types import utc_field


class ReportDraft(SQLModel, table=True):
    """One per half-year (``period`` is unique, which makes the job idempotent: a second run, or a second worker,
    finds the row or loses the insert). ``statistics`` is the whole statistics document, ``sha256`` included, so a
    draft renders to the same figures whenever it is opened, whatever has happened in the database since."""

    __tablename__ = "report_draft"
    id: int | None = Field(default=None, primary_key=True)
    period: str = Field(max_length=32, unique=True)
    period_start: date
    period_end: date
    generated_at: datetime = utc_field()
    sha256: str = Field(max_length=64)
    statistics: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger
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


class ScreeningRollup(SQLModel, table=True):
    """Screenings counted per UTC day, key, chain, risk level and action: what the screening log held for the rows
    retention deleted (``registry.screening.retention``), kept forever for the reports. A screening is counted either
    here or as a row of ``screening_log``, never both: a day's total is its rollup rows plus its log rows."""

    __tablename__ = "screening_rollup"
    day: date = Field(primary_key=True)
    key_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    chain: str = Field(primary_key=True, max_length=16)
    risk_level: str = Field(primary_key=True, max_length=8)
    action: str = Field(primary_key=True, max_length=8)
    org: str = Field(max_length=200)  # the key's organisation when its rows were counted (reports group by it)
    screenings: int = Field(sa_type=BigInteger)


class ScreeningRollupDay(SQLModel, table=True):
    """A day past the retention period whose log rows are all in ``screening_rollup``: reports read that day from
    the rollup alone."""

    __tablename__ = "screening_rollup_day"
    day: date = Field(primary_key=True)
    rolled_up_at: datetime = utc_field()

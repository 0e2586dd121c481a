from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from registry.db.types import utc_field


class JobRun(SQLModel, table=True):
    __tablename__ = "job_run"
    id: int | None = Field(default=None, primary_key=True)
    job_id: str = Field(max_length=64, index=True)
    holder: str = Field(max_length=128)
    started_at: datetime = utc_field()
    finished_at: datetime | None = utc_field(nullable=True)
    outcome: str = Field(default="running", max_length=16)  # running | ok | failed (work not done) | error (a bug)
    error: str | None = Field(default=None, max_length=2000)
    summary: str | None = Field(default=None, max_length=2000)

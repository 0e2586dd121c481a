"""Response models of the operations API. Fields may be added, never renamed (DESIGN.md)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class JobState(BaseModel):
    id: str
    description: str
    interval_seconds: float
    last_started_at: datetime | None
    last_finished_at: datetime | None
    last_duration_seconds: float | None
    last_outcome: str | None
    last_error: str | None
    last_summary: str | None
    running: bool
    next_run_at: datetime | None
    scheduled_here: bool

"""The screening log's retention job: days past ``REGISTRY_SCREENING_LOG_RETENTION_DAYS`` become daily counts."""

from __future__ import annotations

from registry.db.engine import get_engine
from registry.ops.jobs import JobSpec
from registry.screening.retention import RetentionReport, apply_retention
from registry.settings import Settings

RETENTION_JOB_SECONDS = 3600.0
"""Hourly: a day becomes due once a day, and a backlog larger than one run's time budget is worked off in hours."""


def run_retention(settings: Settings) -> RetentionReport:
    return apply_retention(get_engine(settings.effective_database_url), settings.screening_log_retention_days)


def jobs(settings: Settings) -> list[JobSpec]:
    if settings.screening_log_retention_days == 0:  # keep every row: nothing to do
        return []
    return [
        JobSpec(
            "screening:retention",
            lambda: run_retention(settings),
            RETENTION_JOB_SECONDS,
            "count screening log days past REGISTRY_SCREENING_LOG_RETENTION_DAYS into screening_rollup, then "
            "delete their rows in small batches",
            hint="REGISTRY_SCREENING_LOG_RETENTION_DAYS=0 keeps every row and turns this job off",
        )
    ]

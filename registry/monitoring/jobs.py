"""The ``monitoring:housekeeping`` job: starts the alert and delivery loops of this process (once), turns alerts
past their deadline into dead letters, prunes the changes feed, and reports what the loops did since its last run.

The loops themselves are threads (``registry.monitoring.worker`` says why); this job is how ``registry worker``
(and ``registry serve --scheduler``) comes to run them, with no change to the scheduler.
"""

from __future__ import annotations

from collections.abc import Callable

from registry.db.engine import get_engine
from registry.monitoring import service, worker
from registry.monitoring.settings import MonitoringSettings
from registry.ops.jobs import JobSpec
from registry.settings import Settings


def make_job(settings: Settings, ms: MonitoringSettings) -> Callable[[], str]:
    def housekeeping() -> str:
        engine = get_engine(settings.effective_database_url)
        runtime = worker.ensure_running(engine, ms)
        counts = service.housekeeping(engine, ms) | runtime.take_totals()
        return ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))

    return housekeeping


def jobs(settings: Settings) -> list[JobSpec]:
    ms = MonitoringSettings()
    return [
        JobSpec(
            id="monitoring:housekeeping",
            func=make_job(settings, ms),
            seconds=ms.monitoring_housekeeping_seconds,
            description=(
                "watchlist alerts and webhook deliveries: keeps their loops running, dead-letters alerts past "
                "their deadline, prunes the changes feed"
            ),
            hint="REGISTRY_MONITORING_* settings (README, Monitoring)",
        )
    ]

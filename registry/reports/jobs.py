"""Preparing the draft report when a half-year closes (``reports:draft``).

Every ``REGISTRY_REPORTS_DRAFT_CHECK_SECONDS`` the job looks at the half-year that ended most recently; when no
draft of it is stored it reads the statistics and stores them. Idempotent: a stored draft is left alone (the first
reading after the close is the draft; the live report stays available), and of two workers storing at once the
unique period keeps one.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import select

from registry.db.engine import get_engine, session_scope
from registry.ops.jobs import JobSpec
from registry.reports import service
from registry.reports.periods import last_closed
from registry.reports.settings import get_report_settings
from registry.reports.tables import ReportDraft
from registry.settings import Settings


def prepare_draft(settings: Settings, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    period = last_closed(now.astimezone(UTC).date())
    engine = get_engine(settings.effective_database_url)
    with session_scope(engine) as s:
        if s.exec(select(ReportDraft.id).where(ReportDraft.period == period.label)).first() is not None:
            return f"the draft of {period.label} is stored already (due {period.due.isoformat()})"
    stats = service.statistics(engine, period, policy_version=settings.policy_version, now=now)
    with session_scope(engine) as s:
        stored = service.store_draft(s, stats)
    if not stored:
        return f"the draft of {period.label} was stored meanwhile by another run"
    return f"draft of {period.label} prepared (sha256 {stats.sha256[:16]}…), due {period.due.isoformat()}"


def jobs(settings: Settings) -> list[JobSpec]:
    return [
        JobSpec(
            "reports:draft",
            lambda: prepare_draft(settings),
            get_report_settings().reports_draft_check_seconds,
            "store the report draft of the half-year that closed last, once",
        )
    ]

from __future__ import annotations

from sqlmodel import Session, col, func, select

from registry.ops.tables import JobRun


def last_runs(session: Session, job_ids: list[str]) -> dict[str, JobRun]:
    """The latest run of each job: one query."""
    if not job_ids:
        return {}
    latest = (
        select(JobRun.job_id, func.max(JobRun.id).label("mx"))
        .where(col(JobRun.job_id).in_(job_ids))
        .group_by(col(JobRun.job_id))
        .subquery()
    )
    rows = session.exec(select(JobRun).join(latest, col(JobRun.id) == latest.c.mx)).all()
    return {r.job_id: r for r in rows}

"""Marking listings whose ``valid_until`` passed as expired (screening ignores them from that instant anyway)."""

from __future__ import annotations

from registry.cases.service import expire_due
from registry.db.engine import session_scope
from registry.ops.jobs import JobSpec
from registry.settings import Settings


def _expire() -> str:
    with session_scope() as s:
        return f"{expire_due(s)} listing(s) expired"


def jobs(settings: Settings) -> list[JobSpec]:
    return [JobSpec("listings:expire", _expire, 60.0, "mark listings past valid_until as expired (audited)")]

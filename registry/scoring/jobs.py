"""The rescoring job: debounced, so a sync committing a batch every second does not rescore every second.

It runs every ``REGISTRY_SCORING_CHECK_SECONDS`` and rescores when the stored scores are stale (transfers or
listings changed, a listing expired, the policy version changed) and either the counters have been quiet for
``REGISTRY_SCORING_DEBOUNCE_SECONDS`` or the first unscored change is ``REGISTRY_SCORING_MAX_WAIT_SECONDS`` old.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from registry.db.engine import get_engine, session_scope
from registry.db.types import utcnow
from registry.errors import Conflict
from registry.ops.jobs import JobSpec
from registry.scoring import queries
from registry.scoring.rescore import RunSummary, is_current, rescore
from registry.scoring.settings import ScoringSettings, get_scoring_settings
from registry.settings import Settings

log = logging.getLogger("registry.scoring")


@dataclass
class Debounce:
    """When the counters were first seen stale, and when they last moved (monotonic seconds)."""

    quiet_for: float
    max_wait: float
    stale_since: float | None = None
    last_move: float = 0.0
    last_seen: tuple[int, int] | None = None

    def should_run(self, stale: bool, seen: tuple[int, int], now: float) -> bool:
        if not stale:
            self.stale_since, self.last_seen = None, seen
            return False
        if self.stale_since is None:
            self.stale_since, self.last_move = now, now
        elif seen != self.last_seen:
            self.last_move = now
        self.last_seen = seen
        return now - self.last_move >= self.quiet_for or now - self.stale_since >= self.max_wait

    def ran(self) -> None:
        self.stale_since = None


def make_job(
    engine_factory: Callable[[], Engine],
    settings: ScoringSettings,
    policy_version: str,
    clock: Callable[[], float] = time.monotonic,
) -> Callable[[], RunSummary | None]:
    debounce = Debounce(settings.scoring_debounce_seconds, settings.scoring_max_wait_seconds)

    def check_and_rescore() -> RunSummary | None:
        engine = engine_factory()
        with session_scope(engine) as s:
            counters = queries.counters(s.connection())
            run = queries.last_run(s)
            current = is_current(run, counters, utcnow(), policy_version)
        seen = (counters.get("transfers", 0), counters.get("registry", 0))
        if not debounce.should_run(not current, seen, clock()):
            return None
        try:
            summary = rescore(engine, settings, policy_version, trigger="job")
        except Conflict:
            log.info("rescoring skipped: another one is running")
            return None
        debounce.ran()
        return summary

    return check_and_rescore


def jobs(settings: Settings) -> list[JobSpec]:
    scoring = get_scoring_settings()
    func = make_job(lambda: get_engine(settings.effective_database_url), scoring, settings.policy_version)
    return [
        JobSpec(
            id="scoring:rescore",
            func=func,
            seconds=scoring.scoring_check_seconds,
            description="rescore exposure when transfers or listings changed (debounced)",
        )
    ]

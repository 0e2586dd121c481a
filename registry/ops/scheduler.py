"""Running the features' jobs on their intervals with APScheduler, at most one run of a job at a time anywhere.

APScheduler's ``max_instances=1`` only covers one process; the lease row in ``job_lease`` covers every process
(several API workers started with the scheduler, or a second ``registry worker`` started by mistake). A run that
fails is recorded with its reason in ``job_run`` and never takes the process down; the next run starts afresh. A job
reports that its work was not done by raising a ``RegistryError`` (outcome ``failed``), never in its return value
(the contract is in ``registry.ops.jobs``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import text
from sqlalchemy.engine import Engine

from registry.db.lease import acquire, db_time, holder_id, release, renew
from registry.errors import RegistryError
from registry.ops.jobs import JobSpec
from registry.settings import Settings

log = logging.getLogger("registry.jobs")


def _with_hint(error: str, hint: str) -> str:
    """The error, then what to change when it keeps happening; the hint survives the 2,000-character cut."""
    if not hint:
        return error[:2000]
    tail = f" (to change or stop this job: {hint})"
    return error[: max(0, 2000 - len(tail))] + tail


class JobRunner:
    def __init__(self, engine: Engine, lease_seconds: float, holder: str | None = None) -> None:
        self.engine = engine
        self.lease_seconds = lease_seconds
        self.holder = holder or holder_id()

    def run(self, spec: JobSpec) -> str:
        """Run ``spec`` once if its lease is free; returns the outcome: ok, failed (the job raised a
        ``RegistryError``: its work was not done, for a reason it names), error (anything else) or busy."""
        if not acquire(self.engine, spec.id, self.holder, self.lease_seconds):
            log.debug("job %s is running elsewhere; skipped", spec.id)
            return "busy"
        run_id = self._start(spec.id)
        done = threading.Event()
        renewer = threading.Thread(target=self._renew, args=(spec.id, done), daemon=True)
        renewer.start()
        outcome, error, summary = "ok", None, None
        try:
            result = spec.func()
            summary = None if result is None else str(result)[:2000]
        except RegistryError as e:  # the job says its run did not do its work (registry.ops.jobs): failed
            outcome, error = "failed", _with_hint(e.message, spec.hint)
            summary = None if e.details is None else str(e.details)[:2000]
            log.warning("job %s failed: %s", spec.id, error, extra={"job": spec.id, "outcome": outcome})
        except Exception as e:  # unexpected (a bug, the database gone): recorded, never fatal to the process
            outcome, error = "error", _with_hint(f"{type(e).__name__}: {e}", spec.hint)
            log.error("job %s crashed: %s", spec.id, error, exc_info=True, extra={"job": spec.id, "outcome": outcome})
        finally:
            done.set()
            renewer.join(timeout=5)
            self._finish(run_id, outcome, error, summary)
            release(self.engine, spec.id, self.holder)
        return outcome

    def _renew(self, job_id: str, done: threading.Event) -> None:
        while not done.wait(self.lease_seconds / 3):
            try:
                if not renew(self.engine, job_id, self.holder, self.lease_seconds):
                    log.error("lost the lease of %s while running it", job_id)
            except Exception:
                log.exception("could not renew the lease of %s", job_id)

    def _start(self, job_id: str) -> int:
        with self.engine.begin() as c:
            row = c.execute(
                text(
                    "INSERT INTO job_run (job_id, holder, started_at, outcome) VALUES (:j, :h, :t, 'running') "
                    "RETURNING id"
                ),
                {"j": job_id, "h": self.holder, "t": db_time(self.engine, datetime.now(UTC))},
            ).first()
        assert row is not None
        return int(row[0])

    def _finish(self, run_id: int, outcome: str, error: str | None, summary: str | None) -> None:
        try:
            with self.engine.begin() as c:
                c.execute(
                    text("UPDATE job_run SET finished_at = :t, outcome = :o, error = :e, summary = :s WHERE id = :id"),
                    {
                        "t": db_time(self.engine, datetime.now(UTC)),
                        "o": outcome,
                        "e": error,
                        "s": summary,
                        "id": run_id,
                    },
                )
        except Exception:
            log.exception("could not record the end of job run %s", run_id)


class Scheduler:
    """APScheduler's background scheduler over the job specs, each wrapped in the lease-taking runner.

    ``specs`` are every feature's jobs (``registry.features.load_specs``, or ``AppContext.jobs`` in the app): the
    scheduler knows no feature."""

    def __init__(self, engine: Engine, settings: Settings, specs: Sequence[JobSpec]) -> None:
        self.specs = list(specs)
        self.runner = JobRunner(engine, settings.job_lease_seconds)
        self._aps = BackgroundScheduler(timezone=UTC)

    def start(self) -> None:
        now = datetime.now(UTC)
        for spec in self.specs:
            self._aps.add_job(
                self.runner.run,
                IntervalTrigger(seconds=spec.seconds, timezone=UTC),
                args=[spec],
                id=spec.id,
                name=spec.description,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=max(1, int(spec.seconds)),
                next_run_time=now + timedelta(seconds=min(spec.seconds, 15)),
            )
        self._aps.start()
        log.info("scheduler started with %d jobs", len(self.specs))

    def shutdown(self) -> None:
        if self._aps.running:
            self._aps.shutdown(wait=True)

    def next_runs(self) -> dict[str, datetime | None]:
        return {j.id: j.next_run_time for j in self._aps.get_jobs()}

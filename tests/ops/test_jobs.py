"""The scheduler's lease: a job never runs twice at once, failures are recorded, the jobs API shows them."""

from __future__ import annotations

import threading
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine

from registry.ops.jobs import JobSpec
from registry.ops.scheduler import JobRunner
from tests.conftest import Keys


def test_two_runners_never_overlap(engine: Engine) -> None:
    running = 0
    peak = 0
    lock = threading.Lock()

    def work() -> str:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.3)
        with lock:
            running -= 1
        return "done"

    spec = JobSpec("test:overlap", work, 1, "overlap probe")
    a, b = JobRunner(engine, 30, "worker-a"), JobRunner(engine, 30, "worker-b")
    outcomes: list[str] = []
    threads = [threading.Thread(target=lambda r=r: outcomes.append(r.run(spec))) for r in (a, b, a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak == 1
    assert "busy" in outcomes and "ok" in outcomes
    assert a.run(spec) == "ok"  # the lease is released after a run


def test_expired_lease_of_a_dead_holder_is_taken_over(engine: Engine) -> None:
    from registry.db.lease import acquire

    assert acquire(engine, "test:dead", "crashed-worker", 0.2)
    assert not acquire(engine, "test:dead", "other", 30)
    time.sleep(0.3)
    assert acquire(engine, "test:dead", "other", 30)


def test_failures_are_recorded_with_their_reason(engine: Engine) -> None:
    def broken() -> None:
        raise RuntimeError("node at 127.0.0.1:1 refused the connection")

    assert JobRunner(engine, 30).run(JobSpec("test:broken", broken, 60, "always fails")) == "error"
    with engine.connect() as c:
        outcome, error = c.execute(text("SELECT outcome, error FROM job_run WHERE job_id = 'test:broken'")).one()
    assert outcome == "error" and "refused" in error


def test_jobs_api_lists_every_job_with_its_last_run(
    app_client: TestClient, keys: Keys, engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from registry.ops.scheduler import load_specs
    from registry.settings import get_settings

    monkeypatch.setenv("REGISTRY_DATABASE_URL", db_url)  # jobs use the configured database
    get_settings.cache_clear()

    admin = keys.headers("admin")
    specs = load_specs(app_client.app.state.ctx.settings)  # type: ignore[attr-defined]
    assert {"listings:expire"} <= {s.id for s in specs}
    JobRunner(engine, 30).run(next(s for s in specs if s.id == "listings:expire"))
    r = app_client.get("/v1/jobs", headers=admin)
    assert r.status_code == 200
    jobs = {j["id"]: j for j in r.json()}
    assert set(jobs) == {s.id for s in specs}
    expire = jobs["listings:expire"]
    assert expire["last_outcome"] == "ok" and expire["last_duration_seconds"] is not None
    assert expire["next_run_at"] is not None
    assert app_client.get("/v1/jobs", headers=keys.headers("bank")).status_code == 403

"""The scheduler's lease: a job never runs twice at once, failures are recorded, the jobs API shows them."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine

from registry.ops.jobs import JobSpec
from registry.ops.scheduler import JobRunner
from tests.support.keys import Keys


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
    from registry.features import load_specs
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


# Outcomes (issue 10): a job that did not do its work is shown as failed, with what to change to stop or redirect it.


def _jobs_api(client: TestClient, keys: Keys) -> dict[str, dict[str, object]]:
    r = client.get("/v1/jobs", headers=keys.headers("admin"))
    assert r.status_code == 200, r.text
    return {j["id"]: j for j in r.json()}


def _use_test_database(monkeypatch: pytest.MonkeyPatch, db_url: str) -> None:
    from registry.settings import get_settings

    monkeypatch.setenv("REGISTRY_DATABASE_URL", db_url)  # jobs use the configured database
    get_settings.cache_clear()


def test_a_job_raising_job_failed_is_recorded_as_failed_with_its_summary(engine: Engine) -> None:
    from registry.ops.jobs import JobFailed

    def soft_failure() -> None:
        raise JobFailed("upstream answered nothing usable", summary={"fetched": 0})

    spec = JobSpec("test:soft", soft_failure, 60, "fails softly", hint="REGISTRY_TEST_URL points it elsewhere")
    assert JobRunner(engine, 30).run(spec) == "failed"
    with engine.connect() as c:
        outcome, error, summary = c.execute(
            text("SELECT outcome, error, summary FROM job_run WHERE job_id = 'test:soft'")
        ).one()
    assert outcome == "failed"
    assert "upstream answered nothing usable" in error and "REGISTRY_TEST_URL" in error
    assert summary == "{'fetched': 0}"


def test_a_register_refresh_that_cannot_reach_the_register_is_failed_not_ok(
    app_client: TestClient,
    keys: Keys,
    engine: Engine,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Before: the job returned the refresh's summary (outcome ``failed``) and /v1/jobs said ``ok``; the log line
    did not say how to stop a fetch the agency's network can never make."""
    from registry.features import load_specs
    from tests.support.servers import free_port

    _use_test_database(monkeypatch, db_url)
    monkeypatch.setenv("REGISTRY_REGISTER_URL", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    spec = next(s for s in load_specs(app_client.app.state.ctx.settings) if s.id == "blocklist:refresh-register")  # type: ignore[attr-defined]
    with caplog.at_level("WARNING", logger="registry.jobs"):
        assert JobRunner(engine, 30).run(spec) == "failed"
    job = _jobs_api(app_client, keys)["blocklist:refresh-register"]
    assert job["last_outcome"] == "failed"
    assert "unreachable" in str(job["last_error"]) and "REGISTRY_REGISTER_URL" in str(job["last_error"])
    assert "outcome='failed'" in str(job["last_summary"])  # the refresh's own report is kept
    [line] = [r.getMessage() for r in caplog.records if "blocklist:refresh-register" in r.getMessage()]
    assert "AFSA register unreachable" in line
    assert "REGISTRY_REGISTER_URL points it at a reachable mirror" in line
    assert "empty REGISTRY_REGISTER_URL turns the scheduled refresh off" in line


def test_a_rejected_register_fetch_is_failed_not_ok(
    app_client: TestClient, keys: Keys, engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import blocklist.register.sources as sources
    from blocklist.register.records import FetchResult
    from registry.features import load_specs

    class EmptyRegister:
        regulator = "afsa"
        licence_pattern = None

        def fetch(self) -> FetchResult:
            return FetchResult(firms=[])  # an empty table: rejected, never applied

    _use_test_database(monkeypatch, db_url)
    monkeypatch.setattr(sources, "make_register", lambda settings: EmptyRegister())
    spec = next(s for s in load_specs(app_client.app.state.ctx.settings) if s.id == "blocklist:refresh-register")  # type: ignore[attr-defined]
    assert JobRunner(engine, 30).run(spec) == "failed"
    job = _jobs_api(app_client, keys)["blocklist:refresh-register"]
    assert job["last_outcome"] == "failed" and "register fetch rejected" in str(job["last_error"])
    assert "empty table" in str(job["last_error"])


def test_an_empty_register_url_turns_the_scheduled_refresh_off(monkeypatch: pytest.MonkeyPatch) -> None:
    from blocklist.jobs import jobs
    from registry.settings import Settings

    monkeypatch.setenv("REGISTRY_REGISTER_URL", "")
    assert [s.id for s in jobs(Settings())] == ["blocklist:publish"]
    monkeypatch.setenv("REGISTRY_REGISTER_URL", "http://mirror.internal")
    assert [s.id for s in jobs(Settings())] == ["blocklist:refresh-register", "blocklist:publish"]


def test_a_sanctions_import_that_cannot_read_its_source_says_how_to_turn_it_off(
    engine: Engine, db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from registry.imports.jobs import jobs
    from registry.settings import Settings

    [spec] = jobs(Settings(database_url=db_url, sanctions_sources=[str(tmp_path / "sdn_advanced.xml")]))
    with caplog.at_level("WARNING", logger="registry.jobs"):
        assert JobRunner(engine, 30).run(spec) == "failed"
    [line] = [r.getMessage() for r in caplog.records if "sanctions:import" in r.getMessage()]
    assert "no such file or directory" in line
    assert "REGISTRY_SANCTIONS_SOURCES=[] turns the scheduled import off" in line
    assert "local files or a mirror" in line


def test_a_sync_run_that_cannot_reach_its_node_is_failed_with_its_report(engine: Engine, db_url: str) -> None:
    from registry.settings import Settings
    from registry.sync.jobs import jobs
    from registry.sync.settings import SyncSettings
    from tests.support.servers import free_port

    s = SyncSettings(
        _env_file=None,  # type: ignore[call-arg]
        eth_rpc_url=f"http://127.0.0.1:{free_port()}",
        chain_retry_attempts=1,
        chain_timeout_seconds=1,
        evm_tokens={"eth": []},
    )
    sync = next(j for j in jobs(Settings(database_url=db_url), s) if j.id == "sync:eth")
    assert JobRunner(engine, 30).run(sync) == "failed"
    with engine.connect() as c:
        error, summary = c.execute(text("SELECT error, summary FROM job_run WHERE job_id = 'sync:eth'")).one()
    assert error.startswith("sync eth:") and "REGISTRY_ETH_RPC_URL names the node" in error
    assert "SyncReport(network='eth'" in summary and "status='failed'" in summary

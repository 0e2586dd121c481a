"""A stuck database: requests end with 503 within seconds, health probes answer, revocation works, memory is bounded.

Each test runs the real server (``registry serve``) and makes the database misbehave from a connection of its own:
PostgreSQL holds ``LOCK TABLE … IN ACCESS EXCLUSIVE MODE`` on ``cases`` or ``screening_log``; SQLite holds the write
lock (``BEGIN IMMEDIATE``). Timings are asserted against the default limits (README "Stuck database"): lock timeout
3 s, pool timeout 2 s, /readyz deadline 2 s, key poll 1 s.
"""

from __future__ import annotations

import re
import sqlite3
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool

from registry.audit.service import CLI
from registry.auth.service import create_key, revoke_key
from registry.db.engine import session_scope
from tests.registry.helpers import new_case
from tests.support.keys import Keys
from tests.support.paths import PEPPER
from tests.support.servers import LiveServer, start_server, stop_server

LOCK_TIMEOUT = 3.0
POOL_TIMEOUT = 2.0
READY_DEADLINE = 2.0


@contextmanager
def _pg_lock(db_url: str, table: str) -> Iterator[None]:
    """``table`` locked ACCESS EXCLUSIVE by another session until the block ends."""
    eng = sa_create_engine(db_url, poolclass=NullPool)
    try:
        with eng.connect() as c:
            c.execute(text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
            yield
            c.rollback()
    finally:
        eng.dispose()


@contextmanager
def _sqlite_write_lock(db_url: str) -> Iterator[None]:
    conn = sqlite3.connect(make_url(db_url).database or "", isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        yield
        conn.execute("ROLLBACK")
    finally:
        conn.close()


def _timed(http: httpx.Client, method: str, url: str, **kw: Any) -> tuple[httpx.Response, float]:
    t = time.monotonic()
    r = http.request(method, url, **kw)
    return r, time.monotonic() - t


def _metric(body: str, name: str, labels: str = "") -> float:
    m = re.search(rf"^{re.escape(name + labels)} (\S+)$", body, re.M)
    assert m, f"{name}{labels} missing from /metrics"
    return float(m.group(1))


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def _bank_key(engine: Engine) -> tuple[str, int]:
    with session_scope(engine) as s:
        secret, row = create_key(s, "bank", "Revoked Bank", PEPPER.encode(), CLI, "bank-revoked")
    assert row.id is not None
    return secret, row.id


@pytest.mark.postgres
def test_locked_cases_table_503_within_seconds_probes_answer_and_revocation_still_works(
    db_url: str, tmp_path: Path, keys: Keys, engine: Engine
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("table locks are PostgreSQL's; the SQLite write lock is the next test")
    inv = keys.headers("investigator")
    secret, key_id = _bank_key(engine)
    bank = {"Authorization": f"Bearer {secret}"}
    screen = {"address": "0x8589427373d6d84e98730d7795d8f6f8731fda16"}
    server = start_server(db_url, tmp_path, {"REGISTRY_SNAPSHOT_POLL_SECONDS": "1.0"})
    try:
        with server.client() as http:
            case = new_case(http, inv)
            assert http.post("/v1/screen", json=screen, headers=bank).status_code == 200
        stop = threading.Event()
        answers: list[tuple[int, float, str | None, str]] = []

        def load(n: int) -> None:
            # More clients than the request pool has connections (30): the pool runs dry as well.
            with server.client() as http:
                i = 0
                while not stop.is_set():
                    i += 1
                    try:
                        if i % 2:
                            r, dt = _timed(http, "GET", f"/v1/cases/{case['id']}", headers=inv, timeout=15)
                        else:
                            body = {"number": f"LOCK-{n}-{i}", "title": "locked"}
                            r, dt = _timed(http, "POST", "/v1/cases", json=body, headers=inv, timeout=15)
                    except httpx.HTTPError as e:
                        answers.append((-1, 15.0, None, type(e).__name__))
                        continue
                    answers.append((r.status_code, dt, r.headers.get("Retry-After"), r.text[:300]))

        with _pg_lock(db_url, "cases"):
            locked_at = time.monotonic()
            threads = [threading.Thread(target=load, args=(n,), daemon=True) for n in range(40)]
            for t in threads:
                t.start()
            time.sleep(1.5)
            probes: list[tuple[str, int, float]] = []
            with server.client() as http:
                for _ in range(3):
                    for path in ("/healthz", "/readyz"):
                        r, dt = _timed(http, "GET", path, timeout=10)
                        probes.append((path, r.status_code, dt))
                with session_scope(engine) as s:  # revoked from another connection while the lock holds
                    revoke_key(s, key_id, CLI)
                revoked_at = time.monotonic()
                while True:
                    r = http.post("/v1/screen", json=screen, headers=bank, timeout=10)
                    if r.status_code == 401 or time.monotonic() - revoked_at > 15:
                        break
                    time.sleep(0.05)
                revocation_seconds = time.monotonic() - revoked_at
                assert r.status_code == 401, f"a revoked key still works {revocation_seconds:.1f} s later"
            time.sleep(max(0.0, 7.0 - (time.monotonic() - locked_at)))
            stop.set()
            for t in threads:
                t.join(timeout=30)

        statuses = {a[0] for a in answers}
        assert statuses == {503}, f"while the table was locked: {sorted(statuses)}; e.g. {answers[:3]}"
        assert all(a[2] for a in answers), "a 503 without Retry-After"
        reasons = {orjson.loads(a[3])["error"]["details"]["reason"] for a in answers}
        assert reasons <= {"lock_timeout", "pool_exhausted", "statement_timeout"}, reasons
        times = [a[1] for a in answers]
        print(
            f"\n{len(answers)} case requests against the locked table: all 503 {sorted(reasons)}, median "
            f"{statistics.median(times):.2f} s, max {max(times):.2f} s; /healthz, /readyz within "
            f"{max(p[2] for p in probes):.2f} s; the revoked key refused after {revocation_seconds:.2f} s"
        )
        assert max(times) < LOCK_TIMEOUT + POOL_TIMEOUT + 1.5, f"a request waited {max(times):.1f} s"
        assert all(dt < READY_DEADLINE + 0.5 for _, _, dt in probes), probes
        assert all(code == 200 for path, code, _ in probes if path == "/healthz"), probes
        assert revocation_seconds < 3.0, f"the revoked key stopped working only after {revocation_seconds:.1f} s"
        with server.client() as http:  # the lock gone, the same process serves again
            new_case(http, inv)
            assert http.get("/readyz").status_code == 200
    finally:
        stop_server(server)


def test_screening_log_stays_bounded_while_it_cannot_be_written(
    db_url: str, tmp_path: Path, keys: Keys, engine: Engine
) -> None:
    capacity = 50_000
    server = start_server(
        db_url,
        tmp_path,
        {"REGISTRY_SCREENING_LOG_MAX_BUFFER": str(capacity), "REGISTRY_SCREENING_LOG_FLUSH_SECONDS": "0.5"},
    )
    banks = [keys.headers("bank") for _ in range(2)]
    body = orjson.dumps({"addresses": [f"0x{i + 1:040x}" for i in range(10_000)]})
    try:
        with server.client() as http:  # warm up: the addresses are memoised, the process at its working size
            assert http.post("/v1/screen/batch", content=body, headers=banks[0]).status_code == 200
        deadline = time.monotonic() + 20
        while _logged(engine) < 10_000:
            assert time.monotonic() < deadline, "the warm-up rows were not written"
            time.sleep(0.1)
        answered = 10_000
        rss_before = _rss_mb(server.proc.pid)
        lock = _pg_lock(db_url, "screening_log") if db_url.startswith("postgresql") else _sqlite_write_lock(db_url)
        with lock:
            refused: list[httpx.Response] = []
            sent = 0
            with server.client() as http:
                deadline = time.monotonic() + 20
                full = 0  # refusals because the buffer is full
                while full < 3 and time.monotonic() < deadline:
                    r = http.post("/v1/screen/batch", content=body, headers=banks[sent % 2])
                    sent += 1
                    if r.status_code == 200:
                        answered += 10_000
                    elif r.status_code == 503:
                        refused.append(r)
                        full += b'"reason":"capacity"' in r.content
                    else:
                        assert r.status_code == 429, r.text[:300]  # the key's address rate: the other key next
                metrics = _metrics(server)
                ready = http.get("/readyz", timeout=5)
            rss_after = _rss_mb(server.proc.pid)
            assert refused, f"{sent} batches sent with the log locked, none refused: the buffer has no bound"
            # In the first flush interval the writer may still count as writing (it committed the warm-up): "lag".
            errors = [r.json()["error"] for r in refused]
            assert {e["code"] for e in errors} == {"screening_log_busy"}, errors
            assert errors[-1]["details"]["reason"] == "capacity", errors
            assert all(r.headers["Retry-After"] for r in refused)
            depth = _metric(metrics, "registry_screening_log_buffer_rows")
            assert capacity / 2 < depth <= capacity + 5_000, depth  # bounded: capacity plus one chunk put back
            assert _metric(metrics, "registry_screening_log_buffer_capacity") == capacity
            assert _metric(metrics, "registry_screening_log_refused_rows_total", '{reason="capacity"}') >= 10_000
            assert ready.status_code == 503 and "rows buffered" in ready.json()["checks"]["screening_log"], ready.text
            print(
                f"\nlog locked: {answered} answered, {len(refused)} batches refused, buffer {depth:.0f} of "
                f"{capacity}; RSS {rss_before:.0f} -> {rss_after:.0f} MB"
            )
            assert rss_after - rss_before < 100, f"RSS grew {rss_after - rss_before:.0f} MB for a bounded buffer"
        deadline = time.monotonic() + 30
        while _metric(_metrics(server), "registry_screening_log_buffer_rows") > 0:
            assert time.monotonic() < deadline, "the buffer did not drain after the lock was released"
            time.sleep(0.2)
        with server.client() as http:
            assert http.get("/readyz").status_code == 200
        logged = _logged(engine)
        assert logged == answered, f"{answered} screenings answered, {logged} logged: every answer, no refusal"
    finally:
        stop_server(server)


def _logged(engine: Engine) -> int:
    with engine.connect() as c:
        return int(c.execute(text("SELECT count(*) FROM screening_log")).scalar() or 0)


def _metrics(server: LiveServer) -> str:
    with server.client() as http:
        r = http.get("/metrics", timeout=5)
    assert r.status_code == 200
    return r.text


def test_sqlite_write_lock_gives_503_within_the_busy_timeout(
    db_url: str, tmp_path: Path, keys: Keys, engine: Engine
) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("the SQLite write lock; PostgreSQL's locks are the tests above")
    inv = keys.headers("investigator")
    busy = 2.0
    server = start_server(db_url, tmp_path, {"REGISTRY_DB_BUSY_TIMEOUT_SECONDS": str(busy)})
    try:
        with server.client() as http:
            with _sqlite_write_lock(db_url):
                r, dt = _timed(
                    http, "POST", "/v1/cases", json={"number": "BUSY-1", "title": "t"}, headers=inv, timeout=10
                )
                health, dt_health = _timed(http, "GET", "/healthz", timeout=5)
                ready, dt_ready = _timed(http, "GET", "/readyz", timeout=5)
            print(f"\nSQLite write lock held: POST /v1/cases {r.status_code} after {dt:.2f} s (busy timeout {busy} s)")
            assert r.status_code == 503 and r.headers["Retry-After"], r.text
            assert r.json()["error"]["details"]["reason"] == "locked", r.text
            assert busy - 0.2 < dt < busy + 1.5, dt
            assert health.status_code == 200 and dt_health < 1
            assert ready.status_code in (200, 503) and dt_ready < READY_DEADLINE + 0.5
            new_case(http, inv)  # the lock gone, writes work again
    finally:
        stop_server(server)


def test_readyz_answers_within_its_deadline_when_the_database_probe_hangs(
    app_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import registry.ops.routes as ops_routes

    release = threading.Event()

    def hung_probe(_engine: Engine) -> dict[str, str]:
        release.wait(10)  # a database that neither answers nor fails (a black-holed network, say)
        return {"database": "ok", "migrations": "ok"}

    monkeypatch.setattr(ops_routes, "_probe_database", hung_probe)
    try:
        r, dt = _timed(app_client, "GET", "/readyz")
        again, dt_again = _timed(app_client, "GET", "/readyz")
        health, dt_health = _timed(app_client, "GET", "/healthz")
    finally:
        release.set()
    assert r.status_code == 503 and r.json()["checks"]["database"].startswith("no answer within"), r.text
    # The probe hangs 10 s; the answers come at the deadline (slack for a loaded 2-core machine, far below 10 s).
    slack = 1.5
    assert READY_DEADLINE - 0.1 < dt < READY_DEADLINE + slack and dt_again < READY_DEADLINE + slack, (dt, dt_again)
    assert again.status_code == 503
    assert health.status_code == 200 and dt_health < slack

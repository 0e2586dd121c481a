"""PostgreSQL restarted under load: screening keeps answering, writes get 503 while it is down, and the service
recovers without a restart of its own.

The restart happens to a scratch cluster of the test's own (``tests/support/pg_cluster.py``), never to the shared
server of ``REGISTRY_TEST_POSTGRES_URL`` that other tests and people are using at the same time.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from registry.db.engine import make_engine
from registry.db.migrate import upgrade
from tests.registry.helpers import new_case
from tests.support import pg_cluster
from tests.support.keys import Keys
from tests.support.pg_cluster import PgCluster
from tests.support.servers import LiveServer, start_server, stop_server


@pytest.fixture
def scratch_pg() -> Iterator[PgCluster]:
    reason = pg_cluster.unavailable()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must be able to run a scratch PostgreSQL cluster to restart: {reason}")
        pytest.skip(f"needs a scratch PostgreSQL cluster to restart: {reason}")
    with pg_cluster.scratch_cluster() as pg:
        yield pg


@pytest.fixture
def scratch_db_url(scratch_pg: PgCluster) -> str:
    url = scratch_pg.create_database("registry")
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture
def scratch_server(scratch_db_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    server = start_server(scratch_db_url, tmp_path)
    yield server
    stop_server(server)


@pytest.mark.postgres
def test_service_survives_a_postgres_restart(
    scratch_pg: PgCluster, scratch_db_url: str, scratch_server: LiveServer
) -> None:
    engine = make_engine(scratch_db_url)
    keys = Keys(engine)
    bank, inv = keys.headers("bank"), keys.headers("investigator")
    engine.dispose()
    stop = threading.Event()
    screen_codes: list[int] = []
    write_codes: list[int] = []

    def screen_loop() -> None:
        with scratch_server.client() as http:
            while not stop.is_set():
                r = http.post("/v1/screen", json={"address": "TBHTJqAy4DhHhmT3dNceJYNRz4SdLofLre"}, headers=bank)
                screen_codes.append(r.status_code)

    def write_loop() -> None:
        with scratch_server.client() as http:
            i = 0
            while not stop.is_set():
                i += 1
                try:
                    r = http.post("/v1/cases", json={"number": f"PGR-{i}", "title": "restart"}, headers=inv)
                    write_codes.append(r.status_code)
                except httpx.HTTPError:
                    write_codes.append(-1)
                time.sleep(0.02)

    threads = [threading.Thread(target=screen_loop), threading.Thread(target=write_loop)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    scratch_pg.restart()
    time.sleep(3)
    stop.set()
    for t in threads:
        t.join(timeout=30)

    assert screen_codes and set(screen_codes) == {200}, "screening must not depend on the database"
    assert -1 not in write_codes and not [c for c in write_codes if c >= 500 and c != 503]
    with scratch_server.client() as http:  # the same process, no restart: writes work again
        deadline = time.monotonic() + 20
        while True:
            r = http.post("/v1/cases", json={"number": "PGR-after", "title": "after restart"}, headers=inv)
            if r.status_code == 201 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert r.status_code == 201, r.text
        new_case(http, inv)
        assert http.get("/readyz").status_code == 200

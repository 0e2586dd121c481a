"""PostgreSQL restarted under load: screening keeps answering, writes get 503 while it is down, and the service
recovers without a restart of its own."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.registry.helpers import new_case
from tests.support.keys import Keys
from tests.support.servers import LiveServer


def _restart_postgres() -> None:
    versions = sorted(os.listdir("/etc/postgresql"))
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "restart"],
        check=True,
        capture_output=True,
        timeout=120,
    )


@pytest.mark.postgres
def test_service_survives_a_postgres_restart(db_url: str, live_server: LiveServer, keys: Keys, tmp_path: Path) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("the PostgreSQL restart runs on the PostgreSQL backend")
    if shutil.which("pg_ctlcluster") is None or os.geteuid() != 0 or not os.path.isdir("/etc/postgresql"):
        if os.environ.get("CI"):
            pytest.fail("CI must be able to restart the local PostgreSQL (root and pg_ctlcluster)")
        pytest.skip("needs root and pg_ctlcluster to restart the local PostgreSQL")
    bank, inv = keys.headers("bank"), keys.headers("investigator")
    stop = threading.Event()
    screen_codes: list[int] = []
    write_codes: list[int] = []

    def screen_loop() -> None:
        with live_server.client() as http:
            while not stop.is_set():
                r = http.post("/v1/screen", json={"address": "TBHTJqAy4DhHhmT3dNceJYNRz4SdLofLre"}, headers=bank)
                screen_codes.append(r.status_code)

    def write_loop() -> None:
        with live_server.client() as http:
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
    _restart_postgres()
    time.sleep(3)
    stop.set()
    for t in threads:
        t.join(timeout=30)

    assert screen_codes and set(screen_codes) == {200}, "screening must not depend on the database"
    assert -1 not in write_codes and not [c for c in write_codes if c >= 500 and c != 503]
    with live_server.client() as http:  # the same process, no restart: writes work again
        deadline = time.monotonic() + 20
        while True:
            r = http.post("/v1/cases", json={"number": "PGR-after", "title": "after restart"}, headers=inv)
            if r.status_code == 201 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert r.status_code == 201, r.text
        new_case(http, inv)
        assert http.get("/readyz").status_code == 200

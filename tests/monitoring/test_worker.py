"""``registry worker`` in subprocesses, as in production: an approval reaches the watching bank's webhook within
seconds (and no other bank's), and the worker that is making a delivery, killed with SIGKILL before it learns the
answer, loses nothing and sends nothing twice but that one delivery, again with the same ``webhook-id`` and body.

Two workers run from the start (one started by mistake, or a standby): the leases let only one deliver to an
endpoint at a time; the one holding the lease when the receiver has the request is killed, and the other takes
over once the lease expires (a restarted worker is the same case, minus its start-up time)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from registry.db.engine import session_scope
from registry.db.lease import current_holder
from registry.monitoring.tables import Alert
from tests.monitoring.conftest import SHORT
from tests.monitoring.helpers import Agency, bank, watch, webhook
from tests.monitoring.receiver import Receiver
from tests.support.keys import Keys
from tests.support.paths import PEPPER, ROOT

X1 = "0x" + "71" * 20
X2 = "0x" + "72" * 20
Y = "0x" + "73" * 20


def start_worker(db_url: str, tmp_path: Path, n: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        **SHORT,
        "REGISTRY_DATABASE_URL": db_url,
        "REGISTRY_KEY_PEPPER": PEPPER,
        "REGISTRY_VAR_DIR": str(tmp_path / "var"),
        "REGISTRY_MONITORING_HOUSEKEEPING_SECONDS": "0.5",
        "REGISTRY_MONITORING_LEASE_SECONDS": "2",
        "REGISTRY_MONITORING_RETRY_SECONDS": "60",
        "REGISTRY_MONITORING_DELIVERY_TIMEOUT_SECONDS": "20",
        "REGISTRY_JOB_LEASE_SECONDS": "6",
        "REGISTRY_SANCTIONS_SOURCES": "[]",
        "REGISTRY_REGISTER_URL": "",
    }
    log = open(tmp_path / f"worker-{n}.log", "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen([sys.executable, "-m", "registry", "worker"], env=env, stdout=log, stderr=log, cwd=ROOT)


def wait_for(
    check: Callable[[], bool], what: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 40
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if proc.poll() is not None:
            raise AssertionError(f"the worker exited: {log.read_text()[-3000:]}")
        time.sleep(0.05)
    raise AssertionError(f"{what}: not in {timeout}s; worker log: {log.read_text()[-3000:]}")


def cursor_count(engine: Engine) -> int:
    with session_scope(engine) as s:
        return int(s.execute(text("SELECT count(*) FROM monitoring_cursor")).scalar_one())


def alert_rows(engine: Engine) -> list[tuple[int, str, str, int]]:
    with session_scope(engine) as s:
        rows = s.execute(
            select(Alert.id, Alert.address, Alert.status, Alert.attempts).order_by(Alert.id)  # type: ignore[call-overload]
        ).all()
    return [(int(i), str(a), str(st), int(n)) for i, a, st, n in rows]


def test_worker_alerts_within_seconds_and_a_kill_9_mid_delivery_loses_nothing(
    db_url: str, client: TestClient, keys: Keys, engine: Engine, tmp_path: Path
) -> None:
    a, b = bank(keys, "Bank A"), bank(keys, "Bank B")
    ra, rb = Receiver().start(), Receiver().start()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        ra.secrets.append(webhook(client, a, ra.url))
        rb.secrets.append(webhook(client, b, rb.url))
        watch(client, a, (X1, "A-1"), (X2, "A-2"))
        watch(client, b, (Y, "B-1"))
        agency = Agency(client, keys)

        procs += [start_worker(db_url, tmp_path, 1), start_worker(db_url, tmp_path, 2)]
        log1 = tmp_path / "worker-1.log"
        wait_for(lambda: cursor_count(engine) >= 1, "the workers' baseline", procs[0], log1)

        approved = time.monotonic()
        agency.list(X1)
        [first] = ra.wait_for(1, timeout=15)
        latency = time.monotonic() - approved
        assert latency < 5, f"the alert took {latency:.1f}s"
        assert first.data["address"] == X1 and first.verified_with == (0,)
        assert rb.received == []

        # kill -9 the worker sending while the receiver holds the second delivery: it never learns of the answer
        ra.mode = "hold"
        ra.arrived.clear()
        agency.list(X2)
        assert ra.arrived.wait(15), log1.read_text()[-2000:]
        with session_scope(engine) as s:
            endpoint_id = int(s.execute(text("SELECT id FROM monitoring_endpoint WHERE bank = 'Bank A'")).scalar_one())
        held = current_holder(engine, f"webhook:{endpoint_id}")
        assert held is not None
        pid = int(held[0].split(":")[1])
        [sender] = [p for p in procs if p.pid == pid]
        [standby] = [p for p in procs if p.pid != pid]
        sender.send_signal(signal.SIGKILL)
        sender.wait(10)
        ra.release.set()  # the bank processed it; its answer goes to a dead socket
        ra.mode = "ok"
        assert [st for _, addr, st, _ in alert_rows(engine) if addr == X2] == ["pending"]

        wait_for(
            lambda: [st for _, _, st, _ in alert_rows(engine)] == ["delivered", "delivered"],
            "the other worker's redelivery",
            standby,
            tmp_path / f"worker-{procs.index(standby) + 1}.log",
        )
        got = ra.delivered()
        by_id: dict[str, set[bytes]] = defaultdict(set)
        for r in got:
            by_id[r.webhook_id].add(r.body)
        ids = {f"msg_{i}": addr for i, addr, _, _ in alert_rows(engine)}
        assert set(by_id) == set(ids)  # every alert arrived; nothing arrived that is not an alert
        assert all(len(bodies) == 1 for bodies in by_id.values())  # a repeat is the same message
        counts = {ids[r.webhook_id]: sum(1 for x in got if x.webhook_id == r.webhook_id) for r in got}
        assert counts == {X1: 1, X2: 2}  # only the delivery cut by the kill was sent again
        assert all(r.verified_with == (0,) for r in got) and rb.received == []
        assert [n for _, addr, _, n in alert_rows(engine) if addr == X2] == [1]
    finally:
        ra.release.set()
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                p.wait(10)
        ra.stop()
        rb.stop()

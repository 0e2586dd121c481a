"""Webhook delivery against real HTTP receivers: an endpoint that is down for a while, one that refuses a message,
secret rotation, one that never answers (dead letter, replay), and a slow bank never holding up another; who may
register a webhook, and which URLs.

The worker's loops run here in-process (``registry.monitoring.worker.Runtime``: the alert loop and the dispatcher
threads), with retry settings in seconds (``tests/monitoring/conftest.py``)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from registry.db.engine import session_scope
from registry.errors import InvalidInput
from registry.monitoring import service, worker
from registry.monitoring.delivery import backoff
from registry.monitoring.settings import MonitoringSettings
from registry.monitoring.tables import Alert
from registry.monitoring.urls import check_url
from tests.monitoring.helpers import bank, watch, webhook
from tests.monitoring.receiver import Receiver
from tests.scoring.factories import add_listing
from tests.support.keys import Keys

ADDRESSES = ["0x" + f"{i:02x}" * 20 for i in range(0x30, 0x38)]


def statuses(engine: Engine, bank_name: str) -> list[tuple[str, str, int]]:
    with session_scope(engine) as s:
        rows = s.execute(
            select(Alert.address, Alert.status, Alert.attempts)  # type: ignore[call-overload]
            .where(Alert.bank == bank_name)
            .order_by(Alert.id)
        ).all()
    return [(str(a), str(st), int(n)) for a, st, n in rows]


def wait_until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_down_for_a_while_a_refused_message_and_secret_rotation(
    client: TestClient, keys: Keys, engine: Engine, ms: MonitoringSettings
) -> None:
    a = bank(keys, "Bank A")
    receiver = Receiver()
    receiver.secrets.append(webhook(client, a, receiver.url))  # registered while nothing listens: down
    watch(client, a, *[(x, f"C-{i}") for i, x in enumerate(ADDRESSES)])
    done, _ = service.process_version(engine, ms)
    assert done.baseline
    rt = worker.Runtime(engine, ms)
    rt.start()
    try:
        # down: connections refused; the alerts wait, retried with backoff, and arrive once it is back, once each
        for x in ADDRESSES[:3]:
            add_listing(engine, x, "fraud")
        wait_until(lambda: len(statuses(engine, "Bank A")) == 3 and statuses(engine, "Bank A")[0][2] > 0)
        time.sleep(0.8)
        assert [st for _, st, _ in statuses(engine, "Bank A")] == ["pending"] * 3
        failures = client.get("/v1/webhooks", headers=a).json()
        assert failures["failures"] >= 1 and failures["last_error"]
        receiver.start()
        got = receiver.wait_for(3, timeout=10)
        ids = [int(r.webhook_id.removeprefix("msg_")) for r in got]
        assert len(ids) == len(set(ids)) == 3, ids  # each alert once
        assert ids == sorted(ids)  # in the order they were written
        assert sorted(r.data["address"] for r in got) == sorted(ADDRESSES[:3])
        assert all(r.verified_with == (0,) for r in got)
        wait_until(lambda: [st for _, st, _ in statuses(engine, "Bank A")] == ["delivered"] * 3)
        assert client.get("/v1/webhooks", headers=a).json()["failures"] == 0

        # a 422 refuses one message, not the endpoint: the next alert is not held behind it
        receiver.mode = "reject"
        add_listing(engine, ADDRESSES[3], "fraud")
        wait_until(lambda: len(statuses(engine, "Bank A")) > 3 and statuses(engine, "Bank A")[3][2] >= 1)
        receiver.mode = "ok"
        add_listing(engine, ADDRESSES[4], "sanctions")
        wait_until(lambda: {r.data["address"] for r in receiver.delivered()} >= {ADDRESSES[3], ADDRESSES[4]})

        # rotation: both secrets sign during the overlap, the old one verifies, the new one too
        r = client.post("/v1/webhooks/rotate", headers=a)
        assert r.status_code == 200, r.text
        new = r.json()["secret"]
        assert new.startswith("whsec_") and new != receiver.secrets[0] and r.json()["previous_secret_until"]
        receiver.secrets.append(new)
        add_listing(engine, ADDRESSES[5], "fraud")
        wait_until(lambda: any(r.data["address"] == ADDRESSES[5] for r in receiver.delivered()))
        [rotated] = [r for r in receiver.delivered() if r.data["address"] == ADDRESSES[5]]
        assert rotated.verified_with == (0, 1) and len(rotated.signature.split(" ")) == 2
        wait_until(lambda: [st for _, st, _ in statuses(engine, "Bank A")] == ["delivered"] * 6)
        view = client.get("/v1/webhooks", headers=a).json()
        assert "secret" not in view and view["alerts"] == {"delivered": 6}
    finally:
        rt.stop()
        receiver.stop()


def test_never_answering_dead_letters_and_replay_and_a_slow_bank_holds_up_nobody(
    client: TestClient, keys: Keys, engine: Engine, ms: MonitoringSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow, fast = Receiver().start(), Receiver().start()
    monkeypatch.setattr(ms, "monitoring_delivery_timeout_seconds", 2.0)
    monkeypatch.setattr(ms, "monitoring_retry_seconds", 3.0)
    a, b = bank(keys, "Slow Bank"), bank(keys, "Fast Bank")
    slow.secrets.append(webhook(client, a, slow.url))
    fast.secrets.append(webhook(client, b, fast.url))
    watch(client, a, *[(x, f"S-{i}") for i, x in enumerate(ADDRESSES)])
    watch(client, b, *[(x, f"F-{i}") for i, x in enumerate(ADDRESSES)])
    done, _ = service.process_version(engine, ms)
    assert done.baseline
    slow.mode = "silent"  # accepts the connection, reads the request, never answers
    rt = worker.Runtime(engine, ms)
    rt.start()
    try:
        started = time.monotonic()
        for x in ADDRESSES[:4]:
            add_listing(engine, x, "fraud")
        got = fast.wait_for(4, timeout=8)
        elapsed = time.monotonic() - started
        assert len(got) == 4 and all(r.verified_with == (0,) for r in got)
        wait_until(lambda: len(slow.received) >= 1, timeout=5)  # it was tried meanwhile, in its own sender
        assert elapsed < 1.8, f"the fast bank waited {elapsed:.1f}s: behind the slow one's 2 s timeout?"

        # the slow bank's alerts: retried with backoff until their deadline, then dead letters
        wait_until(lambda: [st for _, st, _ in statuses(engine, "Slow Bank")] == ["dead"] * 4, timeout=15)
        assert statuses(engine, "Slow Bank")[0][2] >= 2  # retried before giving up
        dead = client.get("/v1/alerts", params={"status": "dead"}, headers=a).json()["alerts"]
        assert [x["address"] for x in dead] == ADDRESSES[:4] and "timeout" in (dead[0]["last_error"] or "")
        assert client.get("/v1/alerts", params={"status": "dead"}, headers=b).json()["alerts"] == []
        tried = {r.webhook_id for r in slow.received}

        # the bank is back: it replays one dead letter, then the rest; each with the webhook-id it had
        slow.release.set()
        slow.mode = "ok"
        first = dead[0]["id"]
        r = client.post("/v1/alerts/replay", json={"ids": [first]}, headers=a)
        assert r.status_code == 200 and r.json() == {"replayed": 1}
        [again] = slow.wait_for(1)
        assert again.webhook_id == f"msg_{first}" and again.webhook_id in tried
        assert client.post("/v1/alerts/replay", headers=b).json() == {"replayed": 0}  # not another bank's
        assert client.post("/v1/alerts/replay", headers=a).json() == {"replayed": 3}
        wait_until(lambda: [st for _, st, _ in statuses(engine, "Slow Bank")] == ["delivered"] * 4)
        assert {r.webhook_id for r in slow.delivered()} == {f"msg_{d['id']}" for d in dead}
        audit = client.get("/v1/audit", params={"entity_type": "webhook_endpoint"}, headers=keys.headers("admin"))
        assert [e["action"] for e in audit.json()].count("webhook.replay") == 3
    finally:
        slow.release.set()
        rt.stop()
        slow.stop()
        fast.stop()


def test_webhook_urls_that_reach_into_the_agency_are_refused() -> None:
    strict = {"allow_private": False, "allow_http": False}
    for url in [
        "https://127.0.0.1/h",
        "https://10.1.2.3/h",
        "https://169.254.169.254/latest",
        "https://[::1]/h",
        "https://localhost:8443/h",
        "https://[::ffff:192.168.0.1]/h",
        "https://0.0.0.0/h",
    ]:
        with pytest.raises(InvalidInput) as e:
            check_url(url, **strict)
        assert e.value.details["reason"] == "url_private", url
    with pytest.raises(InvalidInput) as e:
        check_url("http://bank.example/h", **strict)
    assert e.value.details["reason"] == "url_scheme"
    assert check_url(" https://hooks.bank.example:8443/r ", **strict) == "https://hooks.bank.example:8443/r"
    assert check_url("http://127.0.0.1:9/h", allow_private=True, allow_http=True) == "http://127.0.0.1:9/h"


def test_backoff_grows_with_jitter_and_a_cap() -> None:
    assert [backoff(n, 1.0, 60.0, rand=lambda: 0.0) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 4.0]
    assert [backoff(n, 1.0, 60.0, rand=lambda: 1.0) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert backoff(50, 1.0, 60.0, rand=lambda: 1.0) == 60.0 and backoff(50, 1.0, 60.0, rand=lambda: 0.0) == 30.0

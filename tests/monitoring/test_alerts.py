"""Alerts from registry versions, on both databases: who gets one, for what, exactly once, and what it says; the
pull API and the changes feed; the results the alert loop reads agree with the screening snapshot.

The alert computation runs here in the test process (``service.process_version``, what the worker's loop calls),
and delivery through ``send_endpoint`` to a real HTTP receiver that verifies the Standard Webhooks signature. Each
test plays several scenarios on one database (a fresh PostgreSQL database costs seconds)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.engine import Engine

from registry.cases.service import expire_due
from registry.cases.tables import Listing
from registry.db import state
from registry.db.engine import session_scope
from registry.db.lease import holder_id
from registry.errors import Conflict
from registry.monitoring import queries, service
from registry.monitoring.delivery import make_client, send_endpoint
from registry.monitoring.diff import CLEAN, Interner, signatures
from registry.monitoring.results import load_signatures
from registry.monitoring.settings import MonitoringSettings
from registry.monitoring.tables import Alert, MonitoringCursor
from registry.scoring.rescore import rescore
from registry.scoring.settings import ScoringSettings
from registry.scoring.snapshot import load_exposure
from registry.scoring.tables import AddressScore
from registry.screening.snapshot import load_direct
from tests.monitoring.helpers import Agency, bank, watch, webhook
from tests.monitoring.receiver import Receiver
from tests.scoring.factories import add_listing, add_transfers
from tests.support.keys import Keys

TRON = "TNPeeaaFB7K9cmo4uQpcU32zGK8G1NYqeL"


def evm(n: int) -> str:
    return "0x" + f"{n:02x}" * 20


def process(engine: Engine, ms: MonitoringSettings) -> service.Processed:
    done, _ = service.process_version(engine, ms)
    return done


def deliver(engine: Engine, ms: MonitoringSettings) -> None:
    with session_scope(engine) as s:
        due = queries.due_endpoints(s, datetime.now(UTC))
    with make_client(ms) as c:
        for endpoint_id in due:
            send_endpoint(engine, ms, endpoint_id, holder_id(), c)


def alerts(engine: Engine) -> list[Alert]:
    with session_scope(engine) as s:
        return list(s.execute(select(Alert).order_by(Alert.id)).scalars())  # type: ignore[arg-type]


def pulled(client: TestClient, headers: dict[str, str], after: int = 0) -> list[dict[str, Any]]:
    r = client.get("/v1/alerts", params={"after": after}, headers=headers)
    assert r.status_code == 200, r.text
    out: list[dict[str, Any]] = r.json()["alerts"]
    return out


def test_an_approval_alerts_the_watching_bank_signed_and_nobody_else_and_the_pull_api(
    client: TestClient, keys: Keys, engine: Engine, ms: MonitoringSettings
) -> None:
    a, b, c = bank(keys, "Bank A"), bank(keys, "Bank B"), bank(keys, "Bank C")
    x, y, z, w = evm(1), evm(2), evm(3), evm(4)
    ra, rb = Receiver().start(), Receiver().start()
    try:
        ra.secrets.append(webhook(client, a, ra.url))
        rb.secrets.append(webhook(client, b, rb.url))
        watch(client, a, (x, "CUST-1"), (TRON, "CUST-2"), (w, "CUST-3"))
        watch(client, b, (y, "B-77"))
        watch(client, c, (z, "C-1"))  # bank C has no webhook: it pulls
        assert process(engine, ms).baseline
        agency = Agency(client, keys)
        version = int(agency.list(x)["registry_version"])

        done = process(engine, ms)
        assert (done.version, done.changed, done.alerts) == (version, 1, 1)
        deliver(engine, ms)
        [got] = ra.wait_for(1)
        assert rb.received == []  # bank B watches other addresses: nothing, not even a request
        assert got.verified_with == (0,), "the bank verifies it with its secret (standardwebhooks)"
        assert got.webhook_id == f"msg_{alerts(engine)[0].id}"
        body = got.data
        assert body["address"] == x and body["ref"] == "CUST-1" and body["registry_version"] == str(version)
        assert body["previous"] == {"risk_score": 0, "risk_level": "low", "action": "allow", "direct": []}
        assert body["current"]["risk_level"] != "low" and body["current"]["risk_score"] > 0
        assert body["current"]["direct"] == [{"category": "fraud", "source": "fiu"}]
        assert body["reasons"][0] == "listed"
        # nothing of the case reaches the bank
        for secret in ("CASE-", "Criminal Procedure", "seized", "legal_basis", "evidence"):
            assert secret not in got.body.decode()
        # the same version again: nothing (the cursor refuses it; nothing moved)
        assert process(engine, ms).version is None
        assert [(x_.bank, x_.status) for x_ in alerts(engine)] == [("Bank A", "delivered")]

        # the pull API: in order, per bank, after a cursor; a long poll returns when an alert comes
        agency.list(w, category="sanctions")
        process(engine, ms)
        mine = pulled(client, a)
        assert [m["address"] for m in mine] == [x, w] and mine[0]["id"] < mine[1]["id"]
        assert [m["address"] for m in pulled(client, a, after=mine[0]["id"])] == [w]
        assert pulled(client, b) == [] and pulled(client, c) == []

        def later() -> None:
            time.sleep(0.5)
            agency.list(z)
            process(engine, ms)

        t = threading.Thread(target=later)
        started = time.monotonic()
        t.start()
        r = client.get("/v1/alerts", params={"wait": 10}, headers=c)
        t.join()
        assert [m["address"] for m in r.json()["alerts"]] == [z] and r.json()["alerts"][0]["status"] == "pull"
        assert 0.4 < time.monotonic() - started < 8
        r = client.get("/v1/alerts", params={"after": 10**6, "wait": 0.3}, headers=c)
        assert r.json() == {"alerts": [], "next_after": 10**6}
        with session_scope(engine) as s:  # for the reports: alerts that reached their bank (pushed or pulled)
            hour = datetime.now(UTC) - timedelta(hours=1)
            assert service.alerts_sent_between(s, hour, datetime.now(UTC) + timedelta(seconds=1)) == 3
            assert service.alerts_sent_between(s, hour - timedelta(hours=1), hour) == 0
        # a webhook registered later does not push what came before it; it pushes what comes after
        rc = Receiver().start()
        try:
            rc.secrets.append(webhook(client, c, rc.url))
            watch(client, c, (y, "C-2"))
            agency.list(y)
            process(engine, ms)
            deliver(engine, ms)
            assert [r_.data["address"] for r_ in rc.wait_for(1)] == [y]
            assert [r_.data["ref"] for r_ in rb.wait_for(1)] == ["B-77"]
        finally:
            rc.stop()
    finally:
        ra.stop()
        rb.stop()


def big(n: int) -> str:
    return "0x" + f"{n:040x}"


def test_rescoring_expiry_the_changes_feed_and_exactly_once(
    client: TestClient, keys: Keys, engine: Engine, ms: MonitoringSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _results_agree_with_the_screening_snapshot(engine)
    a = bank(keys, "Bank A")
    y, z, expiring, listed = evm(0x11), evm(0x12), evm(0x13), evm(0x14)
    watch(client, a, (y, "C-1"), (z, "C-2"), (expiring, "C-3"))
    # far enough ahead that a slow machine never reaches it before the expiry step below moves it into the past
    add_listing(engine, listed, "fraud")
    add_listing(engine, expiring, "fraud", valid_until=datetime.now(UTC) + timedelta(hours=1))
    done, cache = service.process_version(engine, ms)
    assert done.baseline
    v0 = done.version
    r = client.get("/v1/changes", params={"since": 0}, headers=a)  # before the history starts: copy first
    assert r.status_code == 410 and r.json()["error"]["details"]["oldest"] == v0
    assert client.get("/v1/changes", params={"since": v0}, headers=a).json() == {
        "since": v0,
        "version": v0,
        "changes": [],
        "next_after": None,
    }

    # a rescoring that raises a watched wallet's exposure
    add_transfers(engine, [(listed, y, 5.0), (z, evm(0x15), 1.0)])
    rescore(engine, ScoringSettings(_env_file=None), "2026.1")  # type: ignore[call-arg]
    done, cache = service.process_version(engine, ms, cache)
    assert done.alerts == 1
    [alert] = pulled(client, a)
    assert alert["address"] == y and alert["ref"] == "C-1"
    assert alert["previous"]["risk_level"] == "low" and alert["current"]["risk_level"] in ("high", "severe")
    assert alert["reasons"] == ["level_raised", "action_changed"] and alert["current"]["direct"] == []
    assert alert["status"] == "pull"  # no webhook: the bank reads it
    v1 = done.version

    # a score that moves within its level is a change (the feed) but not an alert
    with session_scope(engine) as s:
        s.execute(text("UPDATE address_score SET risk_score = risk_score - 1 WHERE address = :a"), {"a": y})
        state.bump(s, state.REGISTRY)
    done, cache = service.process_version(engine, ms, cache)
    assert (done.changed, done.alerts) == (1, 0)
    v2 = done.version

    # an expiry (what the listings:expire job does once valid_until passed): the clock reaches valid_until
    with session_scope(engine) as s:
        past = datetime.now(UTC) - timedelta(seconds=1)
        s.execute(update(Listing).where(Listing.address == expiring).values(valid_until=past))
        assert expire_due(s) >= 1  # ours, and one the first scenario left past its valid_until
    done, cache = service.process_version(engine, ms, cache)
    assert done.alerts == 1
    expired = pulled(client, a, after=alert["id"])
    assert [e["address"] for e in expired] == [expiring] and expired[0]["reasons"][0] == "listing_removed"
    assert expired[0]["current"] == {"risk_score": 0, "risk_level": "low", "action": "allow", "direct": []}

    # the changes feed: every address whose result changed, watched or not, since a version
    feed = client.get("/v1/changes", params={"since": v0}, headers=a).json()
    assert feed["version"] == done.version
    changed = {c["address"]: c for c in feed["changes"]}
    assert {y, expiring} <= set(changed) and changed[y]["registry_version"] == str(v2)
    assert changed[y]["risk_score"] == alert["current"]["risk_score"] - 1
    assert changed[expiring]["risk_level"] == "low" and changed[y]["chain"] == "evm"
    assert [c["address"] for c in client.get("/v1/changes", params={"since": v2}, headers=a).json()["changes"]] == [
        expiring
    ]
    assert [c["registry_version"] for c in feed["changes"] if c["address"] == y] == [str(v1), str(v2)]
    paged = client.get("/v1/changes", params={"since": v0, "limit": 1}, headers=a).json()
    assert len(paged["changes"]) == 1 and paged["next_after"] is not None
    rest = client.get("/v1/changes", params={"since": v0, "after": paged["next_after"]}, headers=a).json()
    assert len(rest["changes"]) == len(feed["changes"]) - 1
    with session_scope(engine) as s:  # history older than the retention answers 410, naming what is kept
        queries.prune_changes(s, datetime.now(UTC) + timedelta(days=1))
    r = client.get("/v1/changes", params={"since": v0}, headers=a)
    assert r.status_code == 410 and r.json()["error"]["details"]["oldest"] == done.version
    assert client.get("/v1/changes", params={"since": 0}, headers=keys.headers("isp")).status_code == 403
    _exactly_once(client, keys, engine, ms, monkeypatch)


def _results_agree_with_the_screening_snapshot(engine: Engine) -> None:
    """The alert loop reads results with the snapshot's rules on the snapshot's tables (``results.py``); the real
    screening snapshot, built as an API worker builds it, is the reference on a registry holding every kind of
    result. If either side changes its rules alone, this fails."""
    now = datetime.now(UTC)
    add_listing(engine, big(1), "fraud")
    add_listing(engine, big(1), "sanctions")  # two categories: the worse one wins
    add_listing(engine, big(2), "money_mule")
    add_listing(engine, big(3), "fraud", valid_until=now - timedelta(seconds=1))  # expired, still "active"
    add_listing(engine, big(4), "darknet_market", valid_until=now + timedelta(days=1))
    add_listing(engine, big(5), "terrorist_financing", status="delisted")
    add_listing(engine, "TNPeeaaFB7K9cmo4uQpcU32zGK8G1NYqeL", "sanctions", chain="tron", family="tron")
    add_transfers(
        engine, [(big(1), big(10), 5.0), (big(10), big(11), 5.0), (big(2), big(12), 1.0), (big(13), big(2), 9)]
    )
    rescore(engine, ScoringSettings(_env_file=None), "2026.1")  # type: ignore[call-arg]
    with session_scope(engine) as s:  # stored scores the policy could give: one raising a listed address, one clean
        s.execute(
            insert(AddressScore),
            [
                {"family": "evm", "address": big(20), "risk_score": 0, "risk_level": "low", "action": "allow",
                 "exposure": '{"incoming": [], "outgoing": []}', "run_id": 1},
                {"family": "evm", "address": big(4), "risk_score": 95, "risk_level": "severe", "action": "block",
                 "exposure": '{"incoming": [{"category": "ransomware", "share": 0.9, "min_hops": 1}], "outgoing": []}',
                 "run_id": 1},
            ],
        )  # fmt: skip
        state.bump(s, state.REGISTRY)

    intern = Interner()
    version, direct = load_direct(engine)
    reference = signatures(load_exposure(engine, direct), intern)
    got_version, got = load_signatures(engine, intern)
    assert got_version == version
    assert got == reference
    assert f"evm:{big(3)}" not in got and f"evm:{big(5)}" not in got and f"evm:{big(20)}" not in got
    assert got[f"evm:{big(4)}"][:3] == (95, "severe", "block")  # exposure raised the listing
    assert got[f"evm:{big(10)}"] != CLEAN and got[f"evm:{big(10)}"][3] == "[]"  # exposed, not listed
    assert len({id(v) for v in got.values()}) == len(set(got.values()))  # interned: one object per result


def _exactly_once(
    client: TestClient, keys: Keys, engine: Engine, ms: MonitoringSettings, m: pytest.MonkeyPatch
) -> None:
    """A crash between the changes and the alerts keeps nothing of the version; two processings of one version
    (a lease lost): one commits, the other is refused."""
    d, e = bank(keys, "Bank D"), bank(keys, "Bank E")
    x, y = evm(0x21), evm(0x22)
    watch(client, d, (x, "D-1"), (y, "D-2"))
    watch(client, e, (x, "E-1"))
    process(engine, ms)
    add_listing(engine, x, "fraud")

    def counts() -> tuple[int, int]:
        with session_scope(engine) as s:
            return (
                s.execute(select(func.count()).select_from(MonitoringCursor)).scalar_one(),
                s.execute(text("SELECT count(*) FROM monitoring_change")).scalar_one(),
            )

    before = counts()

    def boom(*args: Any, **kw: Any) -> int:
        raise RuntimeError("worker killed between the changes and the alerts")

    with m.context() as patched:
        patched.setattr(queries, "insert_alerts", boom)
        with pytest.raises(RuntimeError):
            process(engine, ms)
    assert counts() == before  # nothing of the version was kept: the transaction was one
    assert process(engine, ms).alerts == 2
    assert process(engine, ms).version is None
    assert sorted(x_.bank for x_ in alerts(engine) if x_.address == x) == ["Bank D", "Bank E"]

    # two workers processing the same version at once (a lease lost): one commits, the other is refused
    add_listing(engine, y, "sanctions")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def build(e: Engine, intern: Interner) -> Any:
        out = load_signatures(e, intern)
        barrier.wait(timeout=10)
        return out

    def run() -> None:
        try:
            done, _ = service.process_version(engine, ms, build=build)
            outcomes.append("ok" if done.alerts == 1 else f"alerts {done.alerts}")
        except Conflict:
            outcomes.append("conflict")
        except Exception as e:  # SQLite: the loser may be refused the write lock instead
            outcomes.append(f"refused: {type(e).__name__}")

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 1, outcomes
    assert [x_.address for x_ in alerts(engine)].count(y) == 1

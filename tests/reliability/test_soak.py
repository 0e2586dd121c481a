"""60 seconds of concurrent screening, investigator writes and a running chain sync against a real server on
PostgreSQL: no 5xx, and every write that was accepted is present and audited. ``make soak`` runs it."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from registry.audit.service import verify
from registry.db.engine import session_scope
from tests.chains.anvil import Anvil
from tests.support.keys import Keys
from tests.support.servers import start_server, stop_server

SECONDS = float(os.environ.get("SOAK_SECONDS", "60"))
pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_soak(db_url: str, tmp_path: Path, keys: Keys, engine: Engine) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("the soak runs on PostgreSQL")
    node = Anvil.start()
    token = node.deploy_token()
    server = start_server(
        db_url,
        tmp_path,
        scheduler=True,
        extra_env={
            "REGISTRY_ETH_RPC_URL": node.url,
            "REGISTRY_EVM_CONFIRMATIONS": "2",
            "REGISTRY_SYNC_INTERVAL_SECONDS": "1",
            "REGISTRY_EVM_TOKENS": f'{{"eth": ["{token}"]}}',
            "REGISTRY_SANCTIONS_SOURCES": "[]",
            "REGISTRY_RATE_LIMIT_PER_SECOND": "100000",
            "REGISTRY_RATE_LIMIT_BURST": "100000",
        },
    )
    bank, inv, sup = keys.headers("bank"), keys.headers("investigator"), keys.headers("supervisor")
    stop = threading.Event()
    errors: list[str] = []
    accepted_cases: list[int] = []
    accepted_listings: list[int] = []
    approved: list[int] = []
    counts = {"screen": 0, "write": 0, "chain": 0}

    def screening() -> None:
        with server.client() as http:
            i = 0
            while not stop.is_set():
                i += 1
                addr = f"0x{i % 5000:040x}"
                r = http.post(
                    "/v1/screen/batch" if i % 10 == 0 else "/v1/screen",
                    json={"addresses": [addr] * 50} if i % 10 == 0 else {"address": addr},
                    headers=bank,
                )
                counts["screen"] += 1
                if r.status_code >= 500:
                    errors.append(f"screen {r.status_code} {r.text[:200]}")

    def writing() -> None:
        with server.client() as http:
            i = 0
            while not stop.is_set():
                i += 1
                r = http.post("/v1/cases", json={"number": f"SOAK-{os.getpid()}-{i}", "title": "soak"}, headers=inv)
                counts["write"] += 1
                if r.status_code >= 500:
                    errors.append(f"case {r.status_code} {r.text[:200]}")
                    continue
                if r.status_code != 201:
                    continue
                case_id = r.json()["id"]
                accepted_cases.append(case_id)
                body = {"address": f"0x{(i + 10**6):040x}", "category": "fraud", "confidence": 70, "legal_basis": "x"}
                r = http.post(f"/v1/cases/{case_id}/listings", json=body, headers=inv)
                if r.status_code >= 500:
                    errors.append(f"listing {r.status_code} {r.text[:200]}")
                elif r.status_code == 201:
                    lid = r.json()["id"]
                    accepted_listings.append(lid)
                    a = http.post(f"/v1/listings/{lid}/approve", json={}, headers=sup)
                    if a.status_code >= 500:
                        errors.append(f"approve {a.status_code} {a.text[:200]}")
                    elif a.status_code == 200:
                        approved.append(lid)

    def chain() -> None:
        while not stop.is_set():
            try:
                node.token_transfer(token, node.accounts[0], node.accounts[1 + counts["chain"] % 5], 10**6)
                node.mine(1)
                counts["chain"] += 1
            except Exception as e:  # the node is ours; a failure here is a test bug
                errors.append(f"anvil {e}")
            time.sleep(0.05)

    threads = [threading.Thread(target=f) for f in (screening, screening, writing, chain)]
    try:
        for t in threads:
            t.start()
        time.sleep(SECONDS)
        stop.set()
        for t in threads:
            t.join(timeout=60)
        assert not errors, errors[:10]
        assert counts["screen"] > 100 and accepted_listings and counts["chain"] > 10
        with server.client() as http:
            for case_id in accepted_cases[:: max(1, len(accepted_cases) // 50)]:
                assert http.get(f"/v1/cases/{case_id}", headers=inv).status_code == 200
    finally:
        stop_server(server)
        node.stop()
    with engine.connect() as c:
        listed = {r[0] for r in c.execute(text("SELECT id FROM listing"))}
        active = {r[0] for r in c.execute(text("SELECT id FROM listing WHERE status = 'active'"))}
        audited = {(str(r[0]), str(r[1])) for r in c.execute(text("SELECT entity_type, entity_id FROM audit_event"))}
        synced = c.execute(text("SELECT count(*) FROM transfer WHERE network = 'eth'")).scalar()
    assert set(accepted_listings) <= listed and set(approved) <= active
    assert all(("listing", str(i)) in audited for i in accepted_listings)
    assert all(("case", str(i)) in audited for i in accepted_cases)
    assert synced and synced > 0
    with session_scope(engine) as s:
        assert verify(s).ok

"""Races over real HTTP on a live server: concurrent decisions and duplicate submissions get one winner and
409s for the rest, and what a route answered is committed before the answer (both databases)."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tests.support.keys import Keys
from tests.support.servers import LiveServer

N = 10
ADDR = "0x8589427373d6d84e98730d7795d8f6f8731fda16"


def _all_at_once(server: LiveServer, calls: list[Callable[[httpx.Client], httpx.Response]]) -> list[httpx.Response]:
    """Run the calls in parallel threads released together by a barrier, each on its own connection."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[httpx.Client], httpx.Response]) -> httpx.Response:
        with server.client() as c:
            c.get("/healthz")  # connect first, so the barrier releases requests, not handshakes
            barrier.wait()
            return call(c)

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def _case(server: LiveServer, inv: dict[str, str]) -> int:
    with server.client(inv) as c:
        r = c.post("/v1/cases", json={"number": f"R-{uuid.uuid4().hex[:8]}", "title": "race"})
        assert r.status_code == 201, r.text
        return int(r.json()["id"])


def _post(url: str, body: dict[str, Any], headers: dict[str, str]) -> Callable[[httpx.Client], httpx.Response]:
    return lambda c: c.post(url, json=body, headers=headers)


def _audit_count(engine: Engine, entity_type: str, entity_id: int, prefix: str) -> int:
    with engine.connect() as c:
        q = "SELECT count(*) FROM audit_event WHERE entity_type = :t AND entity_id = :i AND action LIKE :a"
        return int(c.execute(text(q), {"t": entity_type, "i": str(entity_id), "a": prefix + "%"}).scalar_one())


def test_concurrent_decisions_on_one_domain_have_one_winner(
    live_server: LiveServer, keys: Keys, engine: Engine
) -> None:
    inv = keys.headers("investigator")
    sups = [keys.headers("supervisor") for _ in range(N)]
    cid = _case(live_server, inv)
    with live_server.client(inv) as c:
        did = c.post(
            f"/v1/cases/{cid}/domains", json={"domain": "race-swap.com", "legal_basis": "unlicensed exchange"}
        ).json()["id"]
    calls = [
        _post(f"/v1/domains/{did}/{'approve' if i % 2 else 'reject'}", {"reason": f"decision {i}"}, sups[i])
        for i in range(N)
    ]
    answers = _all_at_once(live_server, calls)
    codes = Counter(r.status_code for r in answers)
    assert codes == {200: 1, 409: N - 1}, [(r.status_code, r.text[:120]) for r in answers]
    [winner] = [r.json() for r in answers if r.status_code == 200]
    with live_server.client(sups[0]) as c:
        assert c.get(f"/v1/domains/{did}").json()["status"] == winner["status"]
    assert _audit_count(engine, "blocklist_domain", did, "blocklist_domain.") == 2  # the submission and one decision


def test_concurrent_decisions_on_one_listing_have_one_winner(
    live_server: LiveServer, keys: Keys, engine: Engine
) -> None:
    inv = keys.headers("investigator")
    sups = [keys.headers("supervisor") for _ in range(N)]
    cid = _case(live_server, inv)
    body = {"address": ADDR, "category": "fraud", "confidence": 70, "legal_basis": "CPC art. 230"}
    with live_server.client(inv) as c:
        lid = c.post(f"/v1/cases/{cid}/listings", json=body).json()["id"]
    calls = [
        _post(f"/v1/listings/{lid}/{'approve' if i % 2 else 'reject'}", {"reason": f"d{i}"} if i % 2 == 0 else {}, s)
        for i, s in enumerate(sups)
    ]
    answers = _all_at_once(live_server, calls)
    assert Counter(r.status_code for r in answers) == {200: 1, 409: N - 1}, [r.text[:120] for r in answers]
    assert _audit_count(engine, "listing", lid, "listing.") == 2


def test_concurrent_confirmations_of_a_delisting_have_one_winner(
    live_server: LiveServer, keys: Keys, engine: Engine
) -> None:
    inv, asker = keys.headers("investigator"), keys.headers("supervisor")
    sups = [keys.headers("supervisor") for _ in range(N)]
    cid = _case(live_server, inv)
    body = {"address": ADDR, "category": "fraud", "confidence": 70, "legal_basis": "CPC art. 230"}
    with live_server.client() as c:
        lid = c.post(f"/v1/cases/{cid}/listings", json=body, headers=inv).json()["id"]
        assert c.post(f"/v1/listings/{lid}/approve", json={}, headers=sups[0]).status_code == 200
        assert c.post(f"/v1/listings/{lid}/delist", json={"reason": "acquitted"}, headers=asker).status_code == 202
    answers = _all_at_once(live_server, [_post(f"/v1/listings/{lid}/delist/confirm", {}, s) for s in sups])
    assert Counter(r.status_code for r in answers) == {200: 1, 409: N - 1}, [r.text[:120] for r in answers]
    assert _audit_count(engine, "listing", lid, "listing.delist") == 1


def test_concurrent_duplicate_submissions_get_one_winner(live_server: LiveServer, keys: Keys, engine: Engine) -> None:
    inv = keys.headers("investigator")
    cid = _case(live_server, inv)
    domain = {"domain": "dup-swap.com", "legal_basis": "unlicensed exchange"}
    answers = _all_at_once(live_server, [_post(f"/v1/cases/{cid}/domains", domain, inv) for _ in range(N)])
    assert Counter(r.status_code for r in answers) == {201: 1, 409: N - 1}, [r.text[:120] for r in answers]
    body = {"address": ADDR, "category": "fraud", "confidence": 70, "legal_basis": "CPC art. 230"}
    answers = _all_at_once(live_server, [_post(f"/v1/cases/{cid}/listings", body, inv) for _ in range(N)])
    assert Counter(r.status_code for r in answers) == {201: 1, 409: N - 1}, [r.text[:120] for r in answers]
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM blocklist_domain WHERE domain = 'dup-swap.com'")).scalar() == 1
        assert c.execute(text("SELECT count(*) FROM listing WHERE case_id = :c"), {"c": cid}).scalar() == 1


def test_what_was_answered_is_readable_at_once(live_server: LiveServer, keys: Keys) -> None:
    """Submit, then read it back on another connection the moment the answer arrives: never a 404."""
    inv = keys.headers("investigator")
    cid = _case(live_server, inv)
    misses = []
    with live_server.client(inv) as writer, live_server.client(inv) as reader:
        for i in range(60):
            r = writer.post(
                f"/v1/cases/{cid}/domains", json={"domain": f"fresh{i}-swap.com", "legal_basis": "unlicensed exchange"}
            )
            assert r.status_code == 201, r.text
            if reader.get(f"/v1/domains/{r.json()['id']}").status_code != 200:
                misses.append(i)
    assert misses == []

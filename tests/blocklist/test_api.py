"""The blocklist over HTTP: submission, four eyes, the licensed check, feeds, 304s, deltas, the signed manifest."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any, cast

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import select

from blocklist.feeds.render import FORMATS
from blocklist.feeds.signing import verify_manifest
from blocklist.routes import FEEDS
from blocklist.tables import BlocklistDomain
from registry.audit.service import verify
from registry.db.engine import session_scope
from tests.registry.helpers import insert_case

INVESTIGATOR = "Ivan Investigator"


def _case(engine: Any) -> int:
    return insert_case(engine, f"C-{uuid.uuid4().hex[:10]}", INVESTIGATOR)


@pytest.fixture
def roles(keys: Any) -> dict[str, dict[str, str]]:
    found = {r: keys.headers(r, holder=INVESTIGATOR if r == "investigator" else None) for r in ROLES}
    return {**found, "supervisor2": keys.headers("supervisor")}


ROLES = ("investigator", "supervisor", "isp", "bank", "admin")


def _submit(client: TestClient, h: dict[str, str], case_id: int, domain: str, **extra: Any) -> Any:
    body = {"domain": domain, "legal_basis": "AIFC rules: unlicensed digital asset exchange", **extra}
    return client.post(f"/v1/cases/{case_id}/domains", json=body, headers=h)


def _block(client: TestClient, roles: dict[str, dict[str, str]], case_id: int, domain: str) -> int:
    r = _submit(client, roles["investigator"], case_id, domain)
    assert r.status_code == 201, r.text
    did = int(r.json()["id"])
    a = client.post(f"/v1/domains/{did}/approve", json={"reason": "evidence reviewed"}, headers=roles["supervisor"])
    assert a.status_code == 200, a.text
    return did


def test_submit_approve_feed_and_304(app_client: TestClient, engine: Any, roles: dict[str, dict[str, str]]) -> None:
    case_id = _case(engine)
    r = _submit(
        app_client,
        roles["investigator"],
        case_id,
        "HTTPS://Bybit-KZ-Pay.com/login",
        evidence={"urls": ["https://bybit-kz-pay.com/login"], "telegram": ["@bybit_kz_pay"]},
        entity_name="Bybit KZ Pay (shadow)",
    )
    assert r.status_code == 201, r.text
    entry = r.json()
    assert entry["domain"] == "bybit-kz-pay.com" and entry["status"] == "pending"
    assert entry["entity"]["name"] == "Bybit KZ Pay (shadow)"
    assert entry["lookalikes"][0]["licensed_domain"] == "bybit.kz"  # offered to the investigator

    isp = roles["isp"]
    before = app_client.get("/v1/blocklist", params={"format": "txt"}, headers=isp)
    assert "bybit-kz-pay.com" not in before.text  # pending is not in the feed

    # four eyes: the submitter's key is not a supervisor; a supervisor approves
    approve = app_client.post(
        f"/v1/domains/{entry['id']}/approve", json={"reason": "ok"}, headers=roles["investigator"]
    )
    assert approve.status_code == 403
    ok = app_client.post(
        f"/v1/domains/{entry['id']}/approve",
        json={"reason": "evidence reviewed"},
        headers=roles["supervisor"],
    )
    assert ok.status_code == 200 and ok.json()["status"] == "active"
    serial = ok.json()["serial_added"]
    assert serial > int(before.headers["X-Blocklist-Serial"])

    cast(FastAPI, app_client.app).state.ctx[FEEDS].refresh()  # the poller does this within REGISTRY_FEED_POLL_SECONDS
    for fmt in FORMATS:
        r = app_client.get("/v1/blocklist", params={"format": fmt}, headers=isp)
        assert r.status_code == 200 and "bybit-kz-pay.com" in r.text, fmt
        assert r.headers["X-Blocklist-Serial"] == str(serial)
        etag = r.headers["ETag"]
        again = app_client.get("/v1/blocklist", params={"format": fmt}, headers={**isp, "If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
    stale = app_client.get("/v1/blocklist", params={"format": "rpz"}, headers={**isp, "If-None-Match": '"0-x"'})
    assert stale.status_code == 200
    rpz = stale.text
    assert f" {serial} " in rpz.splitlines()[2]  # SOA serial is the feed serial
    assert "bybit-kz-pay.com CNAME ." in rpz and "*.bybit-kz-pay.com CNAME ." in rpz
    assert "bybit.kz CNAME rpz-passthru." in rpz

    with session_scope(engine) as s:
        assert verify(s).ok
        assert s.execute(select(BlocklistDomain.status)).scalars().all() == ["active"]


def test_licensed_domains_are_refused_naming_the_licence(
    app_client: TestClient, engine: Any, roles: dict[str, dict[str, str]]
) -> None:
    case_id = _case(engine)
    for domain in ("bybit.kz", "https://WWW.BYBIT.KZ/en", "pay.bybit.kz.", "binance.com"):
        r = _submit(app_client, roles["investigator"], case_id, domain)
        assert r.status_code == 409, domain
        err = r.json()["error"]
        assert err["code"] == "licensed_domain" and "AFSA-A-LA-2024-00" in err["message"]
    # a lookalike is accepted for review (never blocked automatically)
    assert _submit(app_client, roles["investigator"], case_id, "bybit.com").status_code == 201


def test_roles_and_bad_input(app_client: TestClient, engine: Any, roles: dict[str, dict[str, str]]) -> None:
    case_id = _case(engine)
    assert app_client.get("/v1/blocklist").status_code == 401
    for role in ("bank", "investigator", "supervisor", "admin"):
        assert app_client.get("/v1/blocklist", headers=roles[role]).status_code == 403
        assert app_client.get("/v1/blocklist/manifest", headers=roles[role]).status_code == 403
    assert _submit(app_client, roles["isp"], case_id, "x-shadow.com").status_code == 403
    assert _submit(app_client, roles["bank"], case_id, "x-shadow.com").status_code == 403
    r = app_client.get("/v1/blocklist", params={"format": "bind9"}, headers=roles["isp"])
    assert r.status_code == 422 and "rpz" in r.json()["error"]["message"]
    for bad in ("co.uk", "a" * 300 + ".com", "1.2.3.4", "exchange.invalidtld"):
        r = _submit(app_client, roles["investigator"], case_id, bad)
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_domain", bad
    assert _submit(app_client, roles["investigator"], 99_999, "x-shadow.com").status_code == 404
    r = app_client.post(f"/v1/cases/{case_id}/domains", json={"domain": "x.com"}, headers=roles["investigator"])
    assert r.status_code == 422  # legal basis required
    assert app_client.get("/v1/blocklist/changes", params={"since": -1}, headers=roles["isp"]).status_code == 422
    bank_check = app_client.post("/v1/domains/check", json={"domain": "com"}, headers=roles["bank"])
    assert bank_check.status_code == 422
    sup = roles["supervisor"]
    assert app_client.post("/v1/domains/99999/approve", json={"reason": "ok!"}, headers=sup).status_code == 404
    assert app_client.post("/v1/domains/99999/approve", json={"reason": ""}, headers=sup).status_code == 422
    huge_id = 2**63  # beyond any INTEGER column: refused before it reaches the database driver
    assert app_client.post(f"/v1/domains/{huge_id}/approve", json={"reason": "ok!"}, headers=sup).status_code == 422
    assert _submit(app_client, roles["investigator"], huge_id, "x-shadow.com").status_code == 422
    assert _submit(app_client, roles["investigator"], case_id, "x-shadow.com", entity_id=huge_id).status_code == 422
    assert _submit(app_client, roles["investigator"], case_id, "x-shadow.com", entity_id=99_999).status_code == 404
    extra = _submit(app_client, roles["investigator"], case_id, "x-shadow.com", status="active")
    assert extra.status_code == 422  # a submitter cannot set the status
    huge = app_client.post("/v1/domains/check", json={"domain": "a." * 1500 + "com"}, headers=roles["bank"])
    assert huge.status_code == 422
    assert app_client.get("/v1/blocklist/changes", headers=roles["isp"]).status_code == 422  # since is required


def test_check_answers_with_reasons_and_no_case_data(
    app_client: TestClient, engine: Any, roles: dict[str, dict[str, str]]
) -> None:
    case_id = _case(engine)
    _block(app_client, roles, case_id, "obmen-usdt.kz")
    bank = roles["bank"]

    def check(d: str) -> dict[str, Any]:
        r = app_client.post("/v1/domains/check", json={"domain": d}, headers=bank)
        assert r.status_code == 200, r.text
        return dict(r.json())

    lic = check("https://trade.bybit.kz/")
    assert lic["verdict"] == "licensed" and lic["licence"]["licence_number"] == "AFSA-A-LA-2024-0027"
    blocked = check("cash.obmen-usdt.kz")
    assert blocked["verdict"] == "blocked" and blocked["blocked_as"] == "obmen-usdt.kz"
    assert "case" not in str(blocked).lower() and "legal_basis" not in blocked
    look = check("b\u0443bit.kz")
    assert look["verdict"] == "lookalike" and look["lookalikes"][0]["kind"] == "mixed_script"
    assert check("example.org")["verdict"] == "unknown"
    licensed = app_client.get("/v1/licensed", headers=bank).json()
    assert any(f["licence_number"] == "AFSA-A-LA-2024-0027" and f["domains"] == ["bybit.kz"] for f in licensed["firms"])


def test_changes_since_and_delist(app_client: TestClient, engine: Any, roles: dict[str, dict[str, str]]) -> None:
    case_id = _case(engine)
    isp = roles["isp"]
    start = int(app_client.get("/v1/blocklist/manifest", headers=isp).json()["serial"])
    a = _block(app_client, roles, case_id, "alpha-swap.com")
    _block(app_client, roles, case_id, "beta-swap.com")
    mid = app_client.get("/v1/blocklist/changes", params={"since": start}, headers=isp).json()
    assert mid["added"] == ["alpha-swap.com", "beta-swap.com"] and mid["removed"] == []
    r = app_client.post(f"/v1/domains/{a}/delist", json={"reason": "site closed"}, headers=roles["supervisor"])
    assert r.status_code == 202 and r.json()["status"] == "pending", r.text
    r = app_client.post(f"/v1/domains/{a}/delist/confirm", json={}, headers=roles["supervisor2"])
    assert r.status_code == 200 and r.json()["serial_removed"] == mid["serial"] + 1
    since_mid = app_client.get("/v1/blocklist/changes", params={"since": mid["serial"]}, headers=isp).json()
    assert since_mid["removed"] == ["alpha-swap.com"] and since_mid["added"] == []
    net = app_client.get("/v1/blocklist/changes", params={"since": start}, headers=isp).json()
    assert net["added"] == ["beta-swap.com"] and net["removed"] == []  # added then removed: no net change
    ahead = app_client.get("/v1/blocklist/changes", params={"since": net["serial"] + 5}, headers=isp)
    assert ahead.status_code == 422
    # delisting twice is a conflict, not a silent success
    again = app_client.post(f"/v1/domains/{a}/delist", json={"reason": "again"}, headers=roles["supervisor"])
    assert again.status_code == 409


def test_too_old_serial_answers_gone(app_client: TestClient, engine: Any, roles: dict[str, dict[str, str]]) -> None:
    from blocklist.feeds.service import prune_changes

    case_id = _case(engine)
    for i in range(3):
        _block(app_client, roles, case_id, f"gamma{i}-swap.com")
    with session_scope(engine) as s:
        assert prune_changes(s, 1) > 0
    r = app_client.get("/v1/blocklist/changes", params={"since": 0}, headers=roles["isp"])
    assert r.status_code == 410 and r.json()["error"]["code"] == "serial_too_old"


def test_manifest_signature_and_hashes(
    app_client: TestClient, engine: Any, roles: dict[str, dict[str, str]], signing_public_key: Any
) -> None:
    _block(app_client, roles, _case(engine), "delta-swap.com")
    cast(FastAPI, app_client.app).state.ctx[FEEDS].refresh()
    isp = roles["isp"]
    pub = app_client.get("/v1/blocklist/public-key", headers=isp).json()
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    key = load_pem_public_key(pub["pem"].encode())
    assert isinstance(key, Ed25519PublicKey)
    assert key.public_bytes_raw() == signing_public_key.public_bytes_raw()
    manifest = app_client.get("/v1/blocklist/manifest", headers=isp).json()
    verify_manifest(manifest, signing_public_key)
    for fmt in FORMATS:
        body = app_client.get("/v1/blocklist", params={"format": fmt}, headers=isp).content
        assert hashlib.sha256(body).hexdigest() == manifest["formats"][fmt]["sha256"], fmt
    tampered = {**manifest, "serial": manifest["serial"] + 1}
    with pytest.raises(InvalidSignature):
        verify_manifest(tampered, signing_public_key)

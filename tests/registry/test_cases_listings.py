"""Cases and listings over the API: four eyes, reasons, expiry, duplicates, bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.registry.helpers import approve, delist, new_case, screen_until_version, submit
from tests.support.keys import Keys

ADDR = "0x1111111111111111111111111111111111111111"


def test_listing_is_pending_until_another_supervisor_approves(app_client: TestClient, keys: Keys) -> None:
    inv, sup, bank = keys.headers("investigator"), keys.headers("supervisor"), keys.headers("bank")
    case = new_case(app_client, inv)
    listing = submit(app_client, inv, case["id"], ADDR, category="money_mule")
    assert listing["status"] == "pending"

    before = app_client.post("/v1/screen", json={"address": ADDR}, headers=bank).json()
    assert before["direct"] == [] and before["action"] == "allow"

    decided = approve(app_client, sup, listing["id"])
    assert decided["status"] == "active" and decided["approved_by"] != decided["submitted_by"]
    after = screen_until_version(app_client, bank, ADDR, decided["registry_version"])
    assert [d["category"] for d in after["direct"]] == ["money_mule"]
    assert after["action"] == "review" and after["risk_level"] == "high"


def test_submitter_cannot_approve_even_with_a_supervisor_key(app_client: TestClient, keys: Keys) -> None:
    inv = keys.headers("investigator", holder="a.sultanov")
    own_sup = keys.headers("supervisor", holder="a.sultanov")
    case = new_case(app_client, inv)
    listing = submit(app_client, inv, case["id"], ADDR)
    r = app_client.post(f"/v1/listings/{listing['id']}/approve", json={}, headers=own_sup)
    assert r.status_code == 403 and "four eyes" in r.json()["error"]["message"]
    case_view = app_client.get(f"/v1/cases/{case['id']}", headers=inv).json()
    assert case_view["listings"][0]["status"] == "pending"


def test_investigator_cannot_approve(app_client: TestClient, keys: Keys) -> None:
    inv, other_inv = keys.headers("investigator"), keys.headers("investigator")
    case = new_case(app_client, inv)
    listing = submit(app_client, inv, case["id"], ADDR)
    r = app_client.post(f"/v1/listings/{listing['id']}/approve", json={}, headers=other_inv)
    assert r.status_code == 403


def test_reject_and_delist_need_a_reason(app_client: TestClient, keys: Keys) -> None:
    inv, sup, bank = keys.headers("investigator"), keys.headers("supervisor"), keys.headers("bank")
    case = new_case(app_client, inv)
    a = submit(app_client, inv, case["id"], ADDR)
    b = submit(app_client, inv, case["id"], "TBHTJqAy4DhHhmT3dNceJYNRz4SdLofLre")
    assert app_client.post(f"/v1/listings/{a['id']}/reject", json={}, headers=sup).status_code == 422
    assert app_client.post(f"/v1/listings/{a['id']}/reject", json={"reason": "  "}, headers=sup).status_code == 422
    r = app_client.post(f"/v1/listings/{a['id']}/reject", json={"reason": "evidence insufficient"}, headers=sup)
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    # a rejected listing cannot be approved afterwards
    assert app_client.post(f"/v1/listings/{a['id']}/approve", json={}, headers=sup).status_code == 409

    approved = approve(app_client, sup, b["id"])
    hit = screen_until_version(app_client, bank, b["address"], approved["registry_version"])
    assert hit["direct"]
    assert app_client.post(f"/v1/listings/{b['id']}/delist", json={}, headers=sup).status_code == 422
    r = delist(app_client, sup, keys.headers("supervisor"), b["id"], "court acquittal")
    assert r.status_code == 200 and r.json()["status"] == "delisted"
    gone = screen_until_version(app_client, bank, b["address"], r.json()["registry_version"])
    assert gone["direct"] == [] and gone["action"] == "allow"


def test_expired_listing_stops_counting(app_client: TestClient, keys: Keys, engine: object) -> None:
    from registry.cases.service import expire_due
    from registry.db.engine import session_scope

    inv, sup, bank = keys.headers("investigator"), keys.headers("supervisor"), keys.headers("bank")
    case = new_case(app_client, inv)
    until = datetime.now(UTC) + timedelta(seconds=3)  # room to submit, approve and screen on a loaded machine
    listing = submit(app_client, inv, case["id"], ADDR, valid_until=until.isoformat())
    approved = approve(app_client, sup, listing["id"])
    assert screen_until_version(app_client, bank, ADDR, approved["registry_version"])["direct"]
    import time

    time.sleep(max(0.0, (until - datetime.now(UTC)).total_seconds()) + 0.2)
    # screening ignores it from the instant it expires, before any job ran
    assert app_client.post("/v1/screen", json={"address": ADDR}, headers=bank).json()["direct"] == []
    with session_scope(engine) as s:  # type: ignore[arg-type]
        assert expire_due(s) == 1
    view = app_client.get(f"/v1/cases/{case['id']}", headers=inv).json()
    assert view["listings"][0]["status"] == "expired"


def test_duplicate_open_listing_in_case_is_a_conflict(app_client: TestClient, keys: Keys) -> None:
    inv = keys.headers("investigator")
    case = new_case(app_client, inv)
    submit(app_client, inv, case["id"], ADDR)
    r = app_client.post(
        f"/v1/cases/{case['id']}/listings",
        json={"address": ADDR.upper().replace("0X", "0x"), "category": "fraud", "confidence": 70, "legal_basis": "x"},
        headers=inv,
    )
    assert r.status_code == 409


def test_bad_submissions_get_clear_422s(app_client: TestClient, keys: Keys) -> None:
    inv = keys.headers("investigator")
    case = new_case(app_client, inv)
    url = f"/v1/cases/{case['id']}/listings"
    base = {"address": ADDR, "category": "fraud", "confidence": 70, "legal_basis": "art. 230"}
    cases = [
        ({**base, "address": "0x123"}, "invalid_address"),
        ({**base, "address": "0x8589427373d6D84e98730d7795d8f6f8731fda16"}, "invalid_address"),
        ({**base, "category": "jaywalking"}, "invalid_input"),
        ({**base, "confidence": 101}, "invalid_input"),
        ({**base, "confidence": "high"}, "invalid_input"),
        ({**base, "legal_basis": ""}, "invalid_input"),
        ({**base, "valid_until": "2001-01-01T00:00:00Z"}, "invalid_input"),
        ({**base, "surprise": 1}, "invalid_input"),
        ({k: v for k, v in base.items() if k != "address"}, "invalid_input"),
    ]
    for body, code in cases:
        r = app_client.post(url, json=body, headers=inv)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["error"]["code"] == code, (body, r.text)
    r = app_client.post(url, content=b"{not json", headers={**inv, "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "malformed_json"
    assert app_client.post("/v1/cases/999999/listings", json=base, headers=inv).status_code == 404
    assert app_client.get("/v1/cases/0", headers=inv).status_code == 422
    assert app_client.get("/v1/cases/abc", headers=inv).status_code == 422
    r = app_client.post(
        f"/v1/cases/{case['id']}/listings",
        json={**base, "address": "0x8589427373d6D84e98730d7795d8f6f8731fda16"},
        headers=inv,
    )
    assert r.json()["error"]["details"]["reason"] == "checksum"
    view = app_client.get(f"/v1/cases/{case['id']}", headers=inv).json()
    assert view["listings"] == []


def test_case_numbers_are_unique(app_client: TestClient, keys: Keys) -> None:
    inv = keys.headers("investigator")
    new_case(app_client, inv, number="KZ-2026-0001")
    r = app_client.post("/v1/cases", json={"number": "KZ-2026-0001", "title": "again"}, headers=inv)
    assert r.status_code == 409

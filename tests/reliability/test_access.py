"""Every route × every role: exactly the access DESIGN.md gives, and no route left unclassified.

The table below is the contract (DESIGN.md, plus the supervisor's read access to what they approve and the bank's
reduced explanation of an address); the app publishes its own view as ``x-roles`` in the OpenAPI schema, and
the requests prove that the code enforces it.
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.support.keys import Keys

ROLES = ("bank", "isp", "investigator", "supervisor", "admin")
ANY = set(ROLES)
PUBLIC: set[str] = set()

EXPECTED: dict[tuple[str, str], set[str]] = {
    ("POST", "/v1/screen"): {"bank"},
    ("POST", "/v1/screen/batch"): {"bank"},
    ("GET", "/v1/categories"): ANY,
    ("POST", "/v1/cases"): {"investigator"},
    ("GET", "/v1/cases"): {"investigator", "supervisor"},
    ("GET", "/v1/cases/{case_id}"): {"investigator", "supervisor"},
    ("POST", "/v1/cases/{case_id}/members"): {"investigator", "supervisor"},
    ("POST", "/v1/cases/{case_id}/listings"): {"investigator"},
    ("POST", "/v1/cases/{case_id}/listings/import"): {"investigator"},
    ("GET", "/v1/listings/pending"): {"supervisor"},
    ("POST", "/v1/listings/{listing_id}/approve"): {"supervisor"},
    ("POST", "/v1/listings/{listing_id}/reject"): {"supervisor"},
    ("POST", "/v1/listings/{listing_id}/delist"): {"supervisor"},
    ("POST", "/v1/listings/{listing_id}/delist/confirm"): {"supervisor"},
    ("GET", "/v1/requests"): {"supervisor"},
    ("POST", "/v1/requests/{request_id}/cancel"): {"supervisor"},
    ("POST", "/v1/entities"): {"investigator", "supervisor"},
    ("GET", "/v1/entities/{entity_id}"): {"investigator", "supervisor"},
    ("POST", "/v1/entities/{entity_id}/addresses"): {"investigator", "supervisor"},
    ("POST", "/v1/entities/{entity_id}/licensed"): {"supervisor"},
    ("POST", "/v1/entities/{entity_id}/licensed/confirm"): {"supervisor"},
    ("POST", "/v1/entities/{entity_id}/licensed-addresses"): {"supervisor"},
    ("POST", "/v1/entities/{entity_id}/licensed-addresses/confirm"): {"supervisor"},
    ("GET", "/v1/addresses/{chain}/{address}"): {"bank", "investigator", "supervisor"},
    ("GET", "/v1/addresses/{chain}/{address}/counterparties"): {"investigator", "supervisor"},
    ("GET", "/v1/addresses/{chain}/{address}/trace"): {"investigator", "supervisor"},
    ("GET", "/v1/addresses/{chain}/{address}/paths"): {"investigator", "supervisor"},
    ("GET", "/v1/addresses/{chain}/{address}/destinations"): {"investigator", "supervisor"},
    ("GET", "/v1/addresses/{chain}/{address}/evidence"): {"investigator", "supervisor"},
    ("GET", "/v1/cases/{case_id}/candidates"): {"investigator", "supervisor"},
    ("POST", "/v1/cases/{case_id}/candidates"): {"investigator"},
    ("GET", "/v1/typologies"): ANY,
    ("GET", "/v1/typologies/document"): ANY,
    ("POST", "/v1/watchlist"): {"bank"},
    ("GET", "/v1/watchlist"): {"bank"},
    ("POST", "/v1/watchlist/import"): {"bank"},
    ("POST", "/v1/watchlist/remove"): {"bank"},
    ("DELETE", "/v1/watchlist/{watch_id}"): {"bank"},
    ("GET", "/v1/watchlist/export"): {"bank"},
    ("GET", "/v1/webhooks"): {"bank"},
    ("POST", "/v1/webhooks"): {"bank"},
    ("DELETE", "/v1/webhooks"): {"bank"},
    ("POST", "/v1/webhooks/rotate"): {"bank"},
    ("GET", "/v1/alerts"): {"bank"},
    ("POST", "/v1/alerts/replay"): {"bank"},
    ("GET", "/v1/changes"): {"bank"},
    ("GET", "/v1/monitoring/summary"): {"admin", "supervisor"},
    ("GET", "/v1/reports/drafts"): {"supervisor"},
    ("GET", "/v1/reports/{period}/statistics"): {"supervisor"},
    ("GET", "/v1/reports/{period}"): {"supervisor"},
    ("GET", "/v1/exports/cis"): {"supervisor"},
    ("GET", "/v1/exports/cis/schema"): PUBLIC,
    ("GET", "/v1/exports/cis/public-key"): PUBLIC,
    ("POST", "/v1/cases/{case_id}/domains"): {"investigator"},
    ("GET", "/v1/domains"): {"investigator", "supervisor"},
    ("GET", "/v1/domains/{domain_id}"): {"investigator", "supervisor"},
    ("POST", "/v1/domains/{domain_id}/approve"): {"supervisor"},
    ("POST", "/v1/domains/{domain_id}/reject"): {"supervisor"},
    ("POST", "/v1/domains/{domain_id}/delist"): {"supervisor"},
    ("POST", "/v1/domains/{domain_id}/delist/confirm"): {"supervisor"},
    ("POST", "/v1/domains/check"): ANY,
    ("GET", "/v1/blocklist"): {"isp"},
    ("GET", "/v1/blocklist/changes"): {"isp"},
    ("GET", "/v1/blocklist/manifest"): {"isp"},
    ("GET", "/v1/blocklist/public-key"): {"isp"},
    ("GET", "/v1/licensed"): ANY,
    ("POST", "/v1/licensed/{firm_id}/domains"): {"supervisor"},
    ("POST", "/v1/licensed/domains/{domain}/confirm"): {"supervisor"},
    ("GET", "/v1/jobs"): {"admin"},
    ("GET", "/v1/audit"): {"admin"},
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
}

SAMPLES = {
    "case_id": "1",
    "listing_id": "1",
    "domain_id": "1",
    "firm_id": "1",
    "request_id": "1",
    "entity_id": "1",
    "watch_id": "1",
    "period": "2026H1",
    "domain": "example.kz",
    "chain": "eth",
    "address": "0x8589427373d6d84e98730d7795d8f6f8731fda16",
}


def _url(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: SAMPLES[m.group(1)], path)


def test_every_route_is_classified_and_published(app_client: TestClient) -> None:
    spec = app_client.get("/openapi.json").json()
    seen: dict[tuple[str, str], set[str]] = {}
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            roles = op.get("x-roles")
            seen[(method.upper(), path)] = PUBLIC if roles is None else (ANY if roles == ["any"] else set(roles))
    assert set(seen) == set(EXPECTED), {
        "unclassified": sorted(set(seen) - set(EXPECTED)),
        "missing": sorted(set(EXPECTED) - set(seen)),
    }
    wrong = {k: (seen[k], v) for k, v in EXPECTED.items() if seen[k] != v}
    assert not wrong, wrong


def test_every_route_enforces_its_roles(app_client: TestClient, keys: Keys) -> None:
    headers = {role: keys.headers(role) for role in ROLES}
    for (method, path), allowed in EXPECTED.items():
        url = _url(path)
        if allowed is PUBLIC:
            assert app_client.request(method, url).status_code not in (401, 403), path
            continue
        anonymous = app_client.request(method, url, json={})
        assert anonymous.status_code == 401, (method, path, anonymous.status_code)
        assert app_client.request(method, url, json={}, headers={"Authorization": "Bearer rk_x"}).status_code == 401
        for role in ROLES:
            r = app_client.request(method, url, json={}, headers=headers[role])
            if role in allowed:
                assert r.status_code not in (401, 403), (method, path, role, r.status_code, r.text[:200])
            else:
                assert r.status_code == 403, (method, path, role, r.status_code, r.text[:200])


LISTED = "0x8589427373d6d84e98730d7795d8f6f8731fda16"
CSV = b"address,category,confidence,legal_basis\nTBHTJqAy4DhHhmT3dNceJYNRz4SdLofLre,fraud,70,CPC art. 230\n"


@pytest.mark.parametrize("secrecy", ["restricted", "secret"])
def test_case_data_is_for_members_and_supervisors(app_client: TestClient, keys: Keys, secrecy: str) -> None:
    """Every route that reads or changes case data, as a member, a non-member investigator and a supervisor.

    A non-member gets 403 for an ordinary case and 404 for a secret one (its existence is case data too)."""
    member = keys.headers("investigator", holder="Marat Member")
    outsider = keys.headers("investigator", holder="Olga Outsider")
    sup = keys.headers("supervisor", holder="Saule Supervisor")
    denied = 404 if secrecy == "secret" else 403
    case = app_client.post(
        "/v1/cases", json={"number": f"A-{secrecy}", "title": "ring", "secrecy": secrecy}, headers=member
    ).json()
    cid = case["id"]
    listing = {"address": LISTED, "category": "fraud", "confidence": 70, "legal_basis": "CPC art. 230"}
    domain = {"domain": f"{secrecy}-swap.com", "legal_basis": "unlicensed exchange"}

    # the member reads and changes the case
    got = app_client.get(f"/v1/cases/{cid}", headers=member)
    assert got.status_code == 200 and [m["person"] for m in got.json()["members"]] == ["marat member"]
    lid = app_client.post(f"/v1/cases/{cid}/listings", json=listing, headers=member).json()["id"]
    did = app_client.post(f"/v1/cases/{cid}/domains", json=domain, headers=member).json()["id"]
    assert app_client.get("/v1/cases", headers=member).json()[0]["id"] == cid
    assert [d["id"] for d in app_client.get("/v1/domains", headers=member).json()] == [did]

    # the outsider neither reads nor changes it, nor sees it in lists
    csv_headers = {**outsider, "Content-Type": "text/csv"}
    assert app_client.get(f"/v1/cases/{cid}", headers=outsider).status_code == denied
    assert app_client.post(f"/v1/cases/{cid}/listings", json=listing, headers=outsider).status_code == denied
    assert app_client.post(f"/v1/cases/{cid}/listings/import", content=CSV, headers=csv_headers).status_code == denied
    assert app_client.post(f"/v1/cases/{cid}/domains", json=domain, headers=outsider).status_code == denied
    body = {"holder": "Olga Outsider"}
    assert app_client.post(f"/v1/cases/{cid}/members", json=body, headers=outsider).status_code == denied
    assert app_client.get("/v1/cases", headers=outsider).json() == []
    assert app_client.get("/v1/domains", headers=outsider).json() == []
    assert app_client.get(f"/v1/domains/{did}", headers=outsider).status_code == 404
    view = app_client.get(f"/v1/addresses/eth/{LISTED}", headers=outsider).json()
    [ref] = view["listings"]
    assert ref["restricted"] is True and ref["case_id"] is None and ref["case_number"] is None
    assert ref["legal_basis"] == "" and ref["category"] == "fraud"
    mine = app_client.get(f"/v1/addresses/eth/{LISTED}", headers=member).json()["listings"]
    assert mine[0]["case_id"] == cid and mine[0]["restricted"] is False

    # a supervisor reads every case, secret ones included, and its domain entries
    assert app_client.get(f"/v1/cases/{cid}", headers=sup).status_code == 200
    assert app_client.get(f"/v1/domains/{did}", headers=sup).status_code == 200
    assert {c["id"] for c in app_client.get("/v1/cases", headers=sup).json()} == {cid}
    assert app_client.get(f"/v1/addresses/eth/{LISTED}", headers=sup).json()["listings"][0]["case_id"] == cid
    assert app_client.get("/v1/listings/pending", headers=sup).json()[0]["id"] == lid

    # once a member adds the outsider (normalised name), they are in
    added = app_client.post(f"/v1/cases/{cid}/members", json={"holder": "  OLGA  outsider "}, headers=member)
    assert added.status_code == 201 and added.json()["person"] == "olga outsider"
    assert app_client.get(f"/v1/cases/{cid}", headers=outsider).status_code == 200
    assert app_client.post(f"/v1/cases/{cid}/listings/import", content=CSV, headers=csv_headers).status_code == 201
    # nobody is added twice, and only holders of a live investigator key can be added
    assert app_client.post(f"/v1/cases/{cid}/members", json=body, headers=member).status_code == 409
    nobody = {"holder": "Nobody Atall"}
    assert app_client.post(f"/v1/cases/{cid}/members", json=nobody, headers=member).status_code == 404

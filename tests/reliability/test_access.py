"""Every route × every role: exactly the access DESIGN.md gives, and no route left unclassified.

The table below is the contract (DESIGN.md, plus the supervisor's read access to what they approve and the bank's
reduced explanation of an address); the app publishes its own view as ``x-roles`` in the OpenAPI schema, and
the requests prove that the code enforces it.
"""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.conftest import Keys

ROLES = ("bank", "isp", "investigator", "supervisor", "admin")
ANY = set(ROLES)
PUBLIC: set[str] = set()

EXPECTED: dict[tuple[str, str], set[str]] = {
    ("POST", "/v1/screen"): {"bank"},
    ("POST", "/v1/screen/batch"): {"bank"},
    ("GET", "/v1/categories"): ANY,
    ("POST", "/v1/cases"): {"investigator"},
    ("GET", "/v1/cases/{case_id}"): {"investigator", "supervisor"},
    ("POST", "/v1/cases/{case_id}/listings"): {"investigator"},
    ("POST", "/v1/cases/{case_id}/listings/import"): {"investigator"},
    ("GET", "/v1/listings/pending"): {"supervisor"},
    ("POST", "/v1/listings/{listing_id}/approve"): {"supervisor"},
    ("POST", "/v1/listings/{listing_id}/reject"): {"supervisor"},
    ("POST", "/v1/listings/{listing_id}/delist"): {"supervisor"},
    ("GET", "/v1/addresses/{chain}/{address}"): {"bank", "investigator", "supervisor"},
    ("POST", "/v1/cases/{case_id}/domains"): {"investigator"},
    ("GET", "/v1/domains"): {"investigator", "supervisor"},
    ("GET", "/v1/domains/{domain_id}"): {"investigator", "supervisor"},
    ("POST", "/v1/domains/{domain_id}/approve"): {"supervisor"},
    ("POST", "/v1/domains/{domain_id}/reject"): {"supervisor"},
    ("POST", "/v1/domains/{domain_id}/delist"): {"supervisor"},
    ("POST", "/v1/domains/check"): ANY,
    ("GET", "/v1/blocklist"): {"isp"},
    ("GET", "/v1/blocklist/changes"): {"isp"},
    ("GET", "/v1/blocklist/manifest"): {"isp"},
    ("GET", "/v1/blocklist/public-key"): {"isp"},
    ("GET", "/v1/licensed"): ANY,
    ("POST", "/v1/licensed/{firm_id}/domains"): {"supervisor"},
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

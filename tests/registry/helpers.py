"""Test-data factories for the registry API (cases, listings, approvals)."""

from __future__ import annotations

import time
import uuid
from typing import Any, Protocol


class Client(Protocol):
    def post(self, url: str, **kw: Any) -> Any: ...
    def get(self, url: str, **kw: Any) -> Any: ...


def new_case(client: Client, inv: dict[str, str], **kw: Any) -> dict[str, Any]:
    body = {"number": f"CASE-{uuid.uuid4().hex[:8]}", "title": "Shadow exchanger ring", **kw}
    r = client.post("/v1/cases", json=body, headers=inv)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


def submit(client: Client, inv: dict[str, str], case_id: int, address: str, **kw: Any) -> dict[str, Any]:
    body = {
        "address": address,
        "category": "fraud",
        "confidence": 70,
        "legal_basis": "Criminal Procedure Code art. 230",
        "evidence_note": "wallet seized from suspect's phone",
        **kw,
    }
    r = client.post(f"/v1/cases/{case_id}/listings", json=body, headers=inv)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


def approve(client: Client, sup: dict[str, str], listing_id: int) -> dict[str, Any]:
    r = client.post(f"/v1/listings/{listing_id}/approve", json={}, headers=sup)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def screen_until_version(
    client: Client, bank: dict[str, str], address: str, version: int, chain: str | None = None, timeout: float = 10
) -> dict[str, Any]:
    """Screen until the worker's snapshot has caught up with ``version`` (it polls the registry counter)."""
    deadline = time.monotonic() + timeout
    body: dict[str, Any] = {"address": address}
    if chain:
        body["chain"] = chain
    while True:
        r = client.post("/v1/screen", json=body, headers=bank)
        assert r.status_code == 200, r.text
        data: dict[str, Any] = r.json()
        if int(data["registry_version"]) >= version or time.monotonic() > deadline:
            return data
        time.sleep(0.05)


def delist(client: Client, asker: dict[str, str], confirmer: dict[str, str], listing_id: int, reason: str) -> Any:
    """Delisting takes two supervisors: one asks (202, a pending request), another confirms."""
    r = client.post(f"/v1/listings/{listing_id}/delist", json={"reason": reason}, headers=asker)
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "pending" and r.json()["kind"] == "listing.delist"
    return client.post(f"/v1/listings/{listing_id}/delist/confirm", json={}, headers=confirmer)


def insert_case(engine: Any, number: str, *members: str, secrecy: str = "restricted") -> int:
    """A case straight in the database with its members (normalised persons), for tests below the HTTP layer."""
    from registry.auth.persons import normalize_holder
    from registry.cases.tables import Case, CaseMember
    from registry.db.engine import session_scope
    from registry.db.types import utcnow

    with session_scope(engine) as s:
        case = Case(
            number=number, title=f"case {number}", secrecy=secrecy, created_by=1, created_org="FIU", created_at=utcnow()
        )
        s.add(case)
        s.flush()
        assert case.id is not None
        for m in members:
            s.add(CaseMember(case_id=case.id, person=normalize_holder(m) or m, added_by="test", added_at=utcnow()))
        return case.id

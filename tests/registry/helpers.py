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

"""Test-data helpers for monitoring: banks, watchlists, webhooks, listings approved by two persons."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from tests.registry.helpers import approve, new_case, submit
from tests.support.keys import Keys


def bank(keys: Keys, org: str) -> dict[str, str]:
    return keys.headers("bank", org=org)


def watch(client: TestClient, headers: dict[str, str], *items: tuple[str, str]) -> dict[str, Any]:
    """``(address, ref)`` items."""
    r = client.post("/v1/watchlist", json={"items": [{"address": a, "ref": ref} for a, ref in items]}, headers=headers)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def webhook(client: TestClient, headers: dict[str, str], url: str) -> str:
    """Registers the bank's webhook; returns its secret."""
    r = client.post("/v1/webhooks", json={"url": url}, headers=headers)
    assert r.status_code == 201, r.text
    secret: str = r.json()["secret"]
    assert secret.startswith("whsec_")
    return secret


class Agency:
    """An investigator and a supervisor (two persons) who list addresses through the API."""

    def __init__(self, client: TestClient, keys: Keys) -> None:
        self.client = client
        self.inv = keys.headers("investigator", holder=f"inv-{uuid.uuid4().hex[:6]}")
        self.sup = keys.headers("supervisor", holder=f"sup-{uuid.uuid4().hex[:6]}")
        self.case_id = int(new_case(client, self.inv)["id"])

    def list(self, address: str, **kw: Any) -> dict[str, Any]:
        listing = submit(self.client, self.inv, self.case_id, address, **kw)
        return approve(self.client, self.sup, int(listing["id"]))

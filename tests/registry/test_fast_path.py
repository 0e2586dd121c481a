"""The screening routes are answered in front of FastAPI's own middleware stack (``registry.app.RegistryApp``):
profiled, that stack cost about a fifth of a worker's CPU per single screening for nothing these routes use. Every
other route still goes through it, and the request observer and the body limit see every request."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from registry.app import RegistryApp, create_app
from registry.settings import Settings
from tests.support.keys import Keys

ADDRESS = "0x" + "ab" * 20


def test_screening_never_enters_the_framework_stack_and_the_rest_still_does(
    settings: Settings, engine: Engine, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    entered: list[str] = []
    stack = RegistryApp._stack

    async def counted(self: RegistryApp, scope: Any, receive: Any, send: Any) -> None:
        entered.append(scope["path"])
        await stack(self, scope, receive, send)

    monkeypatch.setattr(RegistryApp, "_stack", counted)
    bank = keys.headers("bank")
    with TestClient(create_app(settings, engine)) as client:
        one = client.post("/v1/screen", json={"address": ADDRESS}, headers=bank)
        many = client.post("/v1/screen/batch", json={"addresses": [ADDRESS]}, headers=bank)
        too_big = client.post("/v1/screen", content=b"x" * (settings.max_body_bytes + 1), headers=bank)
        health = client.get("/healthz")
    assert one.status_code == 200 and one.json()["address"] == ADDRESS
    assert many.status_code == 200 and len(many.json()["results"]) == 1
    assert too_big.status_code == 413  # the body limit is in front too
    assert all(r.headers["x-request-id"] for r in (one, many, too_big, health))  # the observer sees them all
    assert health.status_code == 200
    assert entered == ["/healthz"]

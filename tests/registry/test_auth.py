"""Keys: hashed at rest, 401 for missing or bad keys, 403 for the wrong role, revocation takes effect."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine

from registry.audit.service import CLI
from registry.auth.service import revoke_key
from registry.db.engine import session_scope
from tests.support.keys import Keys

# (method, path, body, roles allowed)
ROUTES: list[tuple[str, str, object, set[str]]] = [
    ("POST", "/v1/screen", {"address": "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"}, {"bank"}),
    ("POST", "/v1/screen/batch", {"addresses": []}, {"bank"}),
    ("GET", "/v1/categories", None, {"bank", "isp", "investigator", "supervisor", "admin"}),
    ("POST", "/v1/cases", {"number": "N", "title": "T"}, {"investigator"}),
    ("GET", "/v1/cases/1", None, {"investigator", "supervisor"}),
    ("POST", "/v1/cases/1/listings", {}, {"investigator"}),
    ("GET", "/v1/listings/pending", None, {"supervisor"}),
    ("POST", "/v1/listings/1/approve", {}, {"supervisor"}),
    ("POST", "/v1/listings/1/reject", {"reason": "r"}, {"supervisor"}),
    ("POST", "/v1/listings/1/delist", {"reason": "r"}, {"supervisor"}),
    ("GET", "/v1/audit", None, {"admin"}),
]
ROLES = ["bank", "isp", "investigator", "supervisor", "admin"]


def test_role_matrix(app_client: TestClient, keys: Keys) -> None:
    headers = {role: keys.headers(role) for role in ROLES}
    for method, path, body, allowed in ROUTES:
        r = app_client.request(method, path, json=body)
        assert r.status_code == 401, (path, r.text)
        assert r.headers.get("www-authenticate") == "Bearer"
        r = app_client.request(method, path, json=body, headers={"Authorization": "Bearer rk_not-a-key"})
        assert r.status_code == 401, path
        r = app_client.request(method, path, json=body, headers={"Authorization": "Basic abc"})
        assert r.status_code == 401, path
        for role in ROLES:
            r = app_client.request(method, path, json=body, headers=headers[role])
            if role in allowed:
                assert r.status_code not in (401, 403), (path, role, r.text)
            else:
                assert r.status_code == 403, (path, role, r.text)
                assert r.json()["error"]["code"] == "forbidden"


def test_keys_are_stored_only_as_hmac(keys: Keys, engine: Engine) -> None:
    secret = keys.create("bank", "Kaspi")
    assert secret.startswith("rk_") and len(secret) > 40
    with engine.connect() as c:
        dump = " ".join(str(v) for row in c.execute(text("SELECT * FROM api_key")) for v in row)
        audit = " ".join(str(v) for row in c.execute(text("SELECT * FROM audit_event")) for v in row)
    assert secret not in dump and secret[3:] not in dump
    assert secret not in audit


def test_investigator_and_supervisor_keys_need_a_holder(keys: Keys) -> None:
    from registry.auth.service import create_key
    from registry.errors import InvalidInput

    with session_scope(keys.engine) as s, pytest.raises(InvalidInput):
        create_key(s, "supervisor", "FIU", b"p" * 32, CLI, holder="")
    with session_scope(keys.engine) as s, pytest.raises(InvalidInput):
        create_key(s, "root", "FIU", b"p" * 32, CLI)


def test_revoked_key_stops_working(app_client: TestClient, keys: Keys, engine: Engine) -> None:
    secret = keys.create("bank", "Halyk")
    h = {"Authorization": f"Bearer {secret}"}
    assert app_client.get("/v1/categories", headers=h).status_code == 200
    with engine.connect() as c:
        key_id = c.execute(text("SELECT max(id) FROM api_key")).scalar()
    with session_scope(engine) as s:
        revoke_key(s, int(key_id or 0), CLI)
    deadline = time.monotonic() + 5
    while app_client.get("/v1/categories", headers=h).status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert app_client.get("/v1/categories", headers=h).status_code == 401

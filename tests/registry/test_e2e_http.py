"""The whole flow against a running server over real HTTP, keys made with the real CLI.

keys → case → listing → approval by a different supervisor → a bank screens it (severe/block for sanctions) →
the bank's response holds no case data → the audit log verifies, and stops verifying once a row is edited.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from registry.db.engine import make_engine
from tests.registry.helpers import approve, new_case, screen_until_version, submit
from tests.support.paths import PEPPER, ROOT
from tests.support.servers import LiveServer

SANCTIONED = "0x8589427373d6d84e98730d7795d8f6f8731fda16"


def _cli(db_url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "REGISTRY_DATABASE_URL": db_url,
        "REGISTRY_KEY_PEPPER": PEPPER,
        "REGISTRY_VAR_DIR": str(tmp_path / "var"),
    }
    return subprocess.run(
        [sys.executable, "-m", "registry", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def _key(db_url: str, tmp_path: Path, role: str, org: str, holder: str = "") -> dict[str, str]:
    args = ["keys", "create", "--role", role, "--org", org]
    if holder:
        args += ["--holder", holder]
    out = _cli(db_url, tmp_path, *args)
    assert out.returncode == 0, out.stderr
    secret = out.stdout.strip()
    assert secret.startswith("rk_") and "\n" not in secret
    return {"Authorization": f"Bearer {secret}"}


def test_full_flow_over_http(live_server: LiveServer, db_url: str, tmp_path: Path) -> None:
    inv = _key(db_url, tmp_path, "investigator", "AFM Investigations", "d.nurlanov")
    sup = _key(db_url, tmp_path, "supervisor", "AFM Investigations", "g.abenova")
    bank = _key(db_url, tmp_path, "bank", "Halyk Bank")
    admin = _key(db_url, tmp_path, "admin", "AFM IT")

    with live_server.client() as http:
        case = new_case(http, inv, number="AFM-2026-00042", title="Sanctions evasion via OTC desk")
        listing = submit(
            http,
            inv,
            case["id"],
            SANCTIONED,
            category="sanctions",
            confidence=100,
            evidence_note="ledger from the seized laptop, exhibit 14",
        )
        assert http.post(f"/v1/listings/{listing['id']}/approve", json={}, headers=inv).status_code == 403
        decided = approve(http, sup, listing["id"])

        result = screen_until_version(http, bank, SANCTIONED, decided["registry_version"])
        assert (result["risk_level"], result["action"], result["risk_score"]) == ("severe", "block", 100)
        raw = http.post("/v1/screen", json={"address": SANCTIONED, "chain": "eth"}, headers=bank).text
        for leak in ("AFM-2026-00042", "exhibit", "laptop", "d.nurlanov", "g.abenova", "OTC desk", '"case'):
            assert leak not in raw

        audit = http.get("/v1/audit", headers=admin).json()
        assert [e["action"] for e in audit][-3:] == ["case.create", "listing.submit", "listing.approve"]
        assert http.get("/v1/audit", headers=bank).status_code == 403

    ok = _cli(db_url, tmp_path, "audit", "verify")
    assert ok.returncode == 0 and "intact" in ok.stdout

    engine = make_engine(db_url)
    with engine.begin() as c:
        if engine.dialect.name == "postgresql":
            c.execute(text("DROP TRIGGER audit_event_append_only ON audit_event"))
        else:
            c.execute(text("DROP TRIGGER audit_event_no_update"))
        c.execute(text("UPDATE audit_event SET actor_org = 'nobody' WHERE action = 'listing.approve'"))
    engine.dispose()
    bad = _cli(db_url, tmp_path, "audit", "verify")
    assert bad.returncode == 1 and "TAMPERED" in bad.stderr

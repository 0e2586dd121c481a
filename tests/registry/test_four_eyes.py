"""Nobody decides alone: every decision that changes what banks or ISPs see takes two different persons.

Persons are the holders named on keys, normalised (NFKC, case-folded, whitespace collapsed) when the key is made, so
a second key, a capital letter or a trailing space does not make a second person.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine

from registry.auth.persons import normalize_holder
from registry.cases.tables import Listing, ListingStatus
from registry.db import state
from registry.db.engine import session_scope
from registry.db.types import utcnow
from tests.registry.helpers import approve, insert_case, new_case, screen_until_version, submit
from tests.support.keys import Keys
from tests.support.paths import PEPPER, ROOT

ADDR = "0x8589427373d6d84e98730d7795d8f6f8731fda16"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Alice", "alice"),
        ("  Alice   Smith ", "alice smith"),
        ("ALICE\tSMITH", "alice smith"),
        ("Ａｌｉｃｅ", "alice"),  # full-width letters (NFKC)
        ("Straße", "strasse"),  # case folding, not lower()
        ("Әлия Серікқызы", "әлия серікқызы"),
        ("   ", None),
    ],
)
def test_holders_are_normalised(raw: str, expected: str | None) -> None:
    assert normalize_holder(raw) == expected


@pytest.mark.parametrize("spelling", ["alice", "Alice ", "ALICE", " Ａｌｉｃｅ"])
def test_the_same_person_cannot_approve_a_listing_under_another_spelling(
    app_client: TestClient, keys: Keys, spelling: str
) -> None:
    inv = keys.headers("investigator", holder="Alice")
    sup_same = keys.headers("supervisor", holder=spelling)
    case = new_case(app_client, inv)
    listing = submit(app_client, inv, case["id"], ADDR)
    r = app_client.post(f"/v1/listings/{listing['id']}/approve", json={}, headers=sup_same)
    assert r.status_code == 403 and r.json()["error"]["code"] == "four_eyes", r.text
    r = app_client.post(f"/v1/listings/{listing['id']}/reject", json={"reason": "mine"}, headers=sup_same)
    assert r.status_code == 403 and r.json()["error"]["code"] == "four_eyes", r.text
    ok = approve(app_client, keys.headers("supervisor", holder="Bob"), listing["id"])
    assert ok["status"] == "active" and ok["submitted_holder"] == "alice" and ok["decided_holder"] == "bob"


def test_the_same_person_cannot_approve_a_domain_with_a_supervisor_key(app_client: TestClient, keys: Keys) -> None:
    inv = keys.headers("investigator", holder="Alice")
    sup_same = keys.headers("supervisor", holder="alice ")
    case = new_case(app_client, inv)
    body = {"domain": "alice-swap.com", "legal_basis": "unlicensed exchange"}
    did = app_client.post(f"/v1/cases/{case['id']}/domains", json=body, headers=inv).json()["id"]
    for action in ("approve", "reject"):
        r = app_client.post(f"/v1/domains/{did}/{action}", json={"reason": "reviewed"}, headers=sup_same)
        assert r.status_code == 403 and r.json()["error"]["code"] == "four_eyes", r.text
    assert app_client.get(f"/v1/domains/{did}", headers=sup_same).json()["status"] == "pending"
    r = app_client.post(f"/v1/domains/{did}/approve", json={"reason": "reviewed"}, headers=keys.headers("supervisor"))
    assert r.status_code == 200 and r.json()["status"] == "active"


def test_a_key_without_a_holder_cannot_decide(app_client: TestClient, keys: Keys, engine: Engine) -> None:
    inv = keys.headers("investigator")
    case = new_case(app_client, inv)
    listing = submit(app_client, inv, case["id"], ADDR)
    sup = keys.headers("supervisor")
    with engine.begin() as c:  # a key made before holders were required
        c.execute(text("UPDATE api_key SET holder = NULL WHERE role = 'supervisor'"))
        state_bump_keys = "UPDATE registry_state SET value = value + 1 WHERE name = 'keys'"
        c.execute(text(state_bump_keys))
    app_client.app.state.ctx.keys.refresh(force=True)  # type: ignore[attr-defined]  # not wait for the poller
    r = app_client.post(f"/v1/listings/{listing['id']}/approve", json={}, headers=sup)
    assert r.status_code == 403 and r.json()["error"]["code"] == "four_eyes", r.text


def _ofac_listing(engine: Engine) -> int:
    with session_scope(engine) as s:
        row = Listing(
            chain="eth",
            family="evm",
            address=ADDR,
            category="sanctions",
            confidence=60,
            source="ofac",
            external_ref="ETH",
            legal_basis="OFAC SDN list",
            status=ListingStatus.active.value,
            submitted_by="system:ofac",
            created_at=utcnow(),
            listed_since=utcnow(),
        )
        s.add(row)
        s.flush()
        state.bump(s, state.REGISTRY)
        assert row.id is not None
        return row.id


def test_one_supervisor_cannot_delist_a_sanctioned_address(app_client: TestClient, keys: Keys, engine: Engine) -> None:
    bank = keys.headers("bank")
    one, same, two = (
        keys.headers("supervisor", holder="Saule"),
        keys.headers("supervisor", holder="SAULE"),
        keys.headers("supervisor", holder="Timur"),
    )
    lid = _ofac_listing(engine)
    assert screen_until_version(app_client, bank, ADDR, 1)["action"] == "block"

    asked = app_client.post(f"/v1/listings/{lid}/delist", json={"reason": "left the SDN list"}, headers=one)
    assert asked.status_code == 202 and asked.json()["status"] == "pending", asked.text
    # nothing changed for banks; asking twice is a conflict naming the open request
    assert app_client.post("/v1/screen", json={"address": ADDR}, headers=bank).json()["action"] == "block"
    again = app_client.post(f"/v1/listings/{lid}/delist", json={"reason": "again"}, headers=two)
    assert again.status_code == 409 and again.json()["error"]["details"]["request_id"] == asked.json()["id"]
    # the same person under another key cannot confirm
    r = app_client.post(f"/v1/listings/{lid}/delist/confirm", json={}, headers=same)
    assert r.status_code == 403 and r.json()["error"]["code"] == "four_eyes"
    queue = app_client.get("/v1/requests", headers=two).json()
    assert [(q["kind"], q["target"], q["requested_holder"]) for q in queue] == [("listing.delist", str(lid), "saule")]

    done = app_client.post(f"/v1/listings/{lid}/delist/confirm", json={"note": "checked"}, headers=two)
    assert done.status_code == 200 and done.json()["status"] == "delisted", done.text
    assert done.json()["decided_holder"] == "timur"
    after = screen_until_version(app_client, bank, ADDR, done.json()["registry_version"])
    assert after["action"] == "allow"
    assert app_client.get("/v1/requests", headers=two).json() == []
    with engine.connect() as c:
        actions = [a for (a,) in c.execute(text("SELECT action FROM audit_event ORDER BY id"))]
    assert actions[-3:] == ["request.listing.delist", "confirm.listing.delist", "listing.delist"]


def test_a_delisting_request_can_be_withdrawn(app_client: TestClient, keys: Keys, engine: Engine) -> None:
    one, two = keys.headers("supervisor", holder="Saule"), keys.headers("supervisor", holder="Timur")
    lid = _ofac_listing(engine)
    rid = app_client.post(f"/v1/listings/{lid}/delist", json={"reason": "typo"}, headers=one).json()["id"]
    assert app_client.post(f"/v1/requests/{rid}/cancel", json={}, headers=one).status_code == 422  # needs a reason
    r = app_client.post(f"/v1/requests/{rid}/cancel", json={"reason": "asked by mistake"}, headers=one)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert app_client.post(f"/v1/listings/{lid}/delist/confirm", json={}, headers=two).status_code == 409
    assert app_client.post(f"/v1/requests/{rid}/cancel", json={"reason": "x"}, headers=one).status_code == 409
    with session_scope(engine) as s:
        assert s.get(Listing, lid).status == "active"  # type: ignore[union-attr]


def test_one_supervisor_cannot_take_a_domain_out_of_the_feed(app_client: TestClient, keys: Keys) -> None:
    inv = keys.headers("investigator", holder="Ivan")
    one, two = keys.headers("supervisor", holder="Saule"), keys.headers("supervisor", holder="Timur")
    isp = keys.headers("isp")
    case = new_case(app_client, inv)
    body = {"domain": "gone-swap.com", "legal_basis": "unlicensed exchange"}
    did = app_client.post(f"/v1/cases/{case['id']}/domains", json=body, headers=inv).json()["id"]
    assert app_client.post(f"/v1/domains/{did}/approve", json={"reason": "reviewed"}, headers=one).status_code == 200
    r = app_client.post(f"/v1/domains/{did}/delist", json={"reason": "site closed"}, headers=one)
    assert r.status_code == 202 and r.json()["kind"] == "domain.delist"
    assert app_client.get(f"/v1/domains/{did}", headers=one).json()["status"] == "active"
    assert app_client.post(f"/v1/domains/{did}/delist/confirm", json={}, headers=one).status_code == 403
    r = app_client.post(f"/v1/domains/{did}/delist/confirm", json={}, headers=two)
    assert r.status_code == 200 and r.json()["status"] == "delisted" and r.json()["decided_holder"] == "timur"
    changes = app_client.get("/v1/blocklist/changes", params={"since": 0}, headers=isp).json()
    assert "gone-swap.com" not in changes["added"]


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


def test_the_cli_acts_as_a_named_person(
    app_client: TestClient, keys: Keys, engine: Engine, db_url: str, tmp_path: Path
) -> None:
    keys.create("investigator", holder="Aigerim Investigator")
    cid = insert_case(engine, "CLI-1", "Aigerim Investigator")
    csv = tmp_path / "listings.csv"
    csv.write_text(f"address,category,confidence,legal_basis\n{ADDR},fraud,70,CPC art. 230\n")

    refused = _cli(db_url, tmp_path, "import", "listings", "--case", "CLI-1", "--submitter-key-id", "1", str(csv))
    assert refused.returncode != 0  # no more submitting under a key picked by id
    nobody = _cli(db_url, tmp_path, "import", "listings", "--case", "CLI-1", "--as-holder", "Nobody", str(csv))
    assert nobody.returncode == 2 and "holds no live investigator key" in nobody.stderr
    assert "Traceback" not in nobody.stderr

    done = _cli(
        db_url, tmp_path, "import", "listings", "--case", "CLI-1", "--as-holder", " aigerim INVESTIGATOR", str(csv)
    )
    assert done.returncode == 0, done.stderr
    with engine.connect() as c:
        kind, actor = c.execute(
            text("SELECT actor_kind, actor_id FROM audit_event WHERE action = 'listing.submit' ORDER BY id DESC")
        ).first()  # type: ignore[misc]
        lid, holder, by = c.execute(
            text("SELECT id, submitted_holder, submitted_by FROM listing WHERE case_id = :c"), {"c": cid}
        ).one()
    assert (kind, actor) == ("cli", "aigerim investigator")
    assert (holder, by) == ("aigerim investigator", "cli:aigerim investigator")
    # and the four-eyes rule knows who submitted it
    same = keys.headers("supervisor", holder="Aigerim Investigator")
    r = app_client.post(f"/v1/listings/{lid}/approve", json={}, headers=same)
    assert r.status_code == 403 and r.json()["error"]["code"] == "four_eyes"

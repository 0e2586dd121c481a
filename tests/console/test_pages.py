"""What the console's pages do, over HTTP with a test client: decisions that take two supervisors, domains, the
address page an investigator sees (other cases restricted), the evidence pack, the language switch."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from registry.audit.tables import AuditEvent
from registry.cases.tables import Listing
from registry.db.engine import session_scope
from tests.console.helpers import form_token, signed_in
from tests.registry.helpers import approve, new_case, submit
from tests.support.keys import Keys

SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
WALLET = "0x" + "5e" * 20


def _status(engine: Engine, listing_id: int) -> str:
    with session_scope(engine) as s:
        row = s.get(Listing, listing_id)
        assert row is not None
        return row.status


def test_a_delisting_asked_in_the_console_takes_a_second_supervisor(
    app_client: TestClient, keys: Keys, engine: Engine
) -> None:
    inv = keys.headers("investigator", holder="Delist Investigator")
    approver = keys.headers("supervisor", holder="Approving Supervisor")
    case = new_case(app_client, inv)
    listing = submit(app_client, inv, case["id"], WALLET)
    approve(app_client, approver, listing["id"])

    csrf = signed_in(app_client, keys.create("supervisor", holder="Asking Supervisor"))
    page = app_client.get(f"/console/cases/{case['id']}").text
    assert f'action="/console/listings/{listing["id"]}/delist"' in page
    r = app_client.post(
        f"/console/listings/{listing['id']}/delist",
        data={"csrf_token": csrf, "reason": "court ruling 2-123", "back": f"/console/cases/{case['id']}"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = app_client.get("/console/requests").text
    [request_id] = re.findall(r'data-request="(\d+)"', page)
    assert "Asking Supervisor" in page and 'value="confirm"' not in page  # one's own request: cancel only
    r = app_client.post(f"/console/requests/{request_id}", data={"csrf_token": csrf, "decision": "confirm"})
    assert r.status_code == 403 and _status(engine, listing["id"]) == "active"

    app_client.cookies.clear()
    csrf = signed_in(app_client, keys.create("supervisor", holder="Confirming Supervisor"))
    assert 'value="confirm"' in app_client.get("/console/requests").text
    r = app_client.post(f"/console/requests/{request_id}", data={"csrf_token": csrf, "decision": "confirm"})
    assert r.status_code == 200 and _status(engine, listing["id"]) == "delisted"


@SQLITE_ONLY
def test_a_domain_submitted_in_the_console_is_decided_by_another_supervisor(app_client: TestClient, keys: Keys) -> None:
    inv = keys.create("investigator", holder="Domain Investigator")
    csrf = signed_in(app_client, inv)
    app_client.post("/console/cases", data={"number": "DOM-1", "title": "exchangers", "csrf_token": csrf})
    [case_id] = re.findall(r'href="/console/cases/(\d+)"', app_client.get("/console/cases?q=DOM-1").text)
    check = app_client.get("/console/domains/check", params={"domain": "bybit.kz"}).text
    assert 'data-verdict="licensed"' in check
    r = app_client.post(
        f"/console/cases/{case_id}/domains",
        data={"csrf_token": csrf, "domain": "https://Fast-Obmen.kz/usdt", "legal_basis": "Art. 214 unlicensed"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    refused = app_client.post(
        f"/console/cases/{case_id}/domains",
        data={"csrf_token": csrf, "domain": "bybit.kz", "legal_basis": "Art. 214 unlicensed"},
    )
    assert refused.status_code == 409  # a licensed firm's domain is never submitted
    app_client.cookies.clear()
    csrf = signed_in(app_client, keys.create("supervisor", holder="Domain Supervisor"))
    page = app_client.get("/console/domains").text
    [domain_id] = re.findall(r'data-domain="(\d+)"', page)
    assert "fast-obmen.kz" in page and "Domain Investigator" in page
    r = app_client.post(f"/console/domains/{domain_id}", data={"csrf_token": csrf, "decision": "approve"})
    assert r.status_code == 200
    assert "fast-obmen.kz" in app_client.get("/console/domains?status=active").text
    assert 'data-verdict="blocked"' in app_client.get("/check", params={"domain": "fast-obmen.kz"}).text


@SQLITE_ONLY
def test_the_address_page_restricts_other_cases_and_offers_the_evidence_pack(
    app_client: TestClient, keys: Keys, engine: Engine
) -> None:
    other = keys.headers("investigator", holder="Other Investigator")
    sup = keys.headers("supervisor", holder="Pack Supervisor")
    theirs = new_case(app_client, other, number="HIDDEN-CASE-1", title="not yours")
    approve(app_client, sup, submit(app_client, other, theirs["id"], WALLET, category="fraud")["id"])

    signed_in(app_client, keys.create("investigator", holder="Pack Investigator"))
    page = app_client.get(f"/console/addresses/eth/{WALLET}?lang=en")
    assert page.status_code == 200
    assert "Fraud" in page.text and "another case (restricted)" in page.text
    assert "HIDDEN-CASE-1" not in page.text
    assert "The address is listed directly" in page.text  # the rule behind the level, in words
    assert app_client.get("/console/addresses?address=" + WALLET.upper().replace("0X", "0x")).status_code == 200

    pack = app_client.get(f"/console/addresses/eth/{WALLET}/evidence?format=json")
    assert pack.status_code == 200
    assert pack.headers["content-disposition"].startswith("attachment;")
    assert "HIDDEN-CASE-1" not in pack.text
    with session_scope(engine) as s:
        taken = s.exec(select(AuditEvent).where(col(AuditEvent.action) == "evidence.generate")).all()
    assert [e.after["person"] for e in taken if e.after] == ["pack investigator"]
    assert app_client.get(f"/console/addresses/eth/{WALLET}/evidence?format=exe").status_code == 422


@SQLITE_ONLY
def test_the_language_is_switched_and_kept(app_client: TestClient, keys: Keys) -> None:
    assert '<html lang="ru">' in app_client.get("/console/signin").text  # Russian by default
    r = app_client.get("/console/signin?lang=kk")
    assert '<html lang="kk">' in r.text and "Кіру" in r.text
    assert "console_lang=kk" in r.headers.get("set-cookie", "")
    assert '<html lang="kk">' in app_client.get("/console/signin").text  # kept for the next pages
    signed_in(app_client, keys.create("investigator", holder="Lang Person"))
    page = app_client.get("/console/cases?lang=en").text
    assert "My cases" in page and 'href="/console/cases?lang=ru"' in page
    assert form_token(page)
